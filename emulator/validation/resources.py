"""Peak memory and latency of start-up (script import + init()) and run(), against the limits.

Measured without limits on this machine, then judged against the deployment's: memory as is
(over 80 % of ``memory_gb`` is a warning, over it an error: Azure OOM-kills the container);
time stretched to what a CPU quota of ``cpu_cores`` allows (a call that used 50 ms of CPU takes
at least 500 ms at 0.1 cores), against ``scoring_timeout_ms`` for run() and the AKS liveness
probe's patience for start-up. The measured process is one scoring worker; the container also
holds the server's front process (a few tens of MB), which the emulator does not add.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from emulator.validation.checks import Finding, finding
from emulator.validation.limits import Limits, estimated_ms, rate
from emulator.validation.runtime import ProbeRun

GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True)
class Measurements:
    startup_wall_ms: float
    startup_cpu_ms: float
    #: Peak resident memory once init() returned, and at the end (after every run()).
    startup_peak_bytes: int
    peak_bytes: int
    #: Resident before the script was imported: the interpreter and the server's modules.
    baseline_bytes: int
    run_wall_ms: tuple[float, ...] = ()
    run_cpu_ms: tuple[float, ...] = ()
    failed_calls: int = 0

    def run_estimates(self, cpu_cores: float | None) -> list[float]:
        return [
            estimated_ms(w, c, cpu_cores)
            for w, c in zip(self.run_wall_ms, self.run_cpu_ms, strict=True)
        ]


def measure(run: ProbeRun) -> Measurements | None:
    """The measurements of a probe whose init() succeeded, else ``None``."""
    start, load, init = run.first("start"), run.first("load"), run.first("init")
    if start is None or load is None or init is None or not init["ok"]:
        return None
    calls = [e for e in run.all("sample") if e["kind"] not in ("input", "internal")]
    done = run.first("done")
    peaks = [init["peakRss"], *(e["peakRss"] for e in calls)]
    return Measurements(
        startup_wall_ms=load["wallMs"] + init["wallMs"],
        startup_cpu_ms=load["cpuMs"] + init["cpuMs"],
        startup_peak_bytes=init["peakRss"],
        peak_bytes=done["peakRss"] if done else max(peaks),
        baseline_bytes=start["rss"],
        run_wall_ms=tuple(e["wallMs"] for e in calls),
        run_cpu_ms=tuple(e["cpuMs"] for e in calls),
        failed_calls=sum(1 for e in calls if e["status"] >= 400),
    )


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in [0, 1]); ``None`` without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def resource_findings(m: Measurements, limits: Limits) -> list[Finding]:
    findings = []
    names = limits.names
    cpu = names.cpu.format(cpu=limits.cpu_cores) if limits.cpu_cores else "no CPU limit"
    if limits.memory_gb is not None:
        limit = limits.memory_gb * GIB
        severity = rate(m.peak_bytes, limit)
        if severity is not None:
            findings.append(
                finding(
                    "AML070",
                    f"peak memory is {m.peak_bytes / MIB:.0f} MB "
                    f"({m.startup_peak_bytes / MIB:.0f} MB once init() returned), "
                    f"{m.peak_bytes / limit:.0%} of "
                    f"{names.memory.format(memory=limits.memory_gb)} ({limit / MIB:.0f} MB)",
                    severity=severity,
                    hint=names.memory_fix,
                )
            )
    if limits.scoring_timeout_ms is not None and m.run_wall_ms:
        worst = max(m.run_estimates(limits.cpu_cores))
        severity = rate(worst, limits.scoring_timeout_ms)
        if severity is not None:
            findings.append(
                finding(
                    "AML071",
                    f"the slowest run() takes {worst:.0f} ms at {cpu} "
                    f"(measured {max(m.run_wall_ms):.0f} ms unthrottled, "
                    f"{max(m.run_cpu_ms):.0f} ms of CPU), against "
                    f"{names.timeout.format(timeout=limits.scoring_timeout_ms)}",
                    severity=severity,
                    hint=names.timeout_fix,
                )
            )
    if limits.startup_seconds is not None:
        startup = estimated_ms(m.startup_wall_ms, m.startup_cpu_ms, limits.cpu_cores)
        severity = rate(startup / 1000, limits.startup_seconds)
        if severity is not None:
            findings.append(
                finding(
                    "AML072",
                    f"start-up (import + init()) takes {startup / 1000:.1f} s at {cpu}; "
                    + names.startup.format(startup=limits.startup_seconds),
                    severity=severity,
                    hint=names.startup_fix,
                )
            )
    return findings


def summary(m: Measurements, limits: Limits) -> dict[str, object]:
    """The measurements as reported (JSON keys), with the CPU-quota estimates."""
    estimates = m.run_estimates(limits.cpu_cores)
    total_s = sum(estimates) / 1000
    return {
        "startup": {
            "wallMs": round(m.startup_wall_ms, 1),
            "cpuMs": round(m.startup_cpu_ms, 1),
            "estimatedMs": round(
                estimated_ms(m.startup_wall_ms, m.startup_cpu_ms, limits.cpu_cores), 1
            ),
            "peakMemoryMB": round(m.startup_peak_bytes / MIB, 1),
            "baselineMemoryMB": round(m.baseline_bytes / MIB, 1),
        },
        "run": {
            "calls": len(m.run_wall_ms),
            "failedCalls": m.failed_calls,
            "latencyP50Ms": _rounded(percentile(estimates, 0.5)),
            "latencyP90Ms": _rounded(percentile(estimates, 0.9)),
            "latencyP99Ms": _rounded(percentile(estimates, 0.99)),
            "latencyMaxMs": _rounded(max(estimates, default=None)),
            "cpuMsMax": _rounded(max(m.run_cpu_ms, default=None)),
            "requestsPerSecond": round(len(estimates) / total_s, 1) if total_s else None,
            "peakMemoryMB": round(m.peak_bytes / MIB, 1),
        },
        "limits": limits.to_dict(),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
