"""Model profiling: the validation's measurements, repeated, turned into Azure's profile figures.

The requests are scored in turn, one at a time, by one worker, until enough calls or seconds
have passed. Latencies are those at the requested CPU (at the recommended CPU when none was
requested), stretched by the quota as in :mod:`.resources`. Recommendations:

- memory: the peak divided by 0.8 (so a deployment stays under the 80 % warning line of
  ``amlemu validate``), rounded up to 0.1 GB;
- CPU: the least quota, in steps of 0.1 core, at which the p99 latency stays within twice the
  unthrottled p99 or 100 ms above it, whichever allows more.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emulator.images.context import ImageRequest
from emulator.store.root import EmulatorRoot
from emulator.validation import resources, runtime
from emulator.validation.environment import build_environment
from emulator.validation.limits import WARN_SHARE, estimated_ms
from emulator.validation.target import CannotValidate, Sample

CPU_RANGE = (0.1, 3.5)
MEMORY_RANGE_GB = (0.1, 15.0)
DEFAULT_CALLS = 200
DEFAULT_SECONDS = 10.0
DEFAULT_BUDGET_S = 600.0
_SLACK_MS = 100.0


class ProfilingFailed(Exception):
    """The model could not be profiled; the message says why (init's traceback, an OOM)."""


def profile(
    request: ImageRequest,
    samples: Sequence[Sample],
    root: EmulatorRoot,
    *,
    mode: str,
    cpu: float | None = None,
    memory_in_gb: float | None = None,
    calls: int = DEFAULT_CALLS,
    seconds: float = DEFAULT_SECONDS,
    budget_s: float = DEFAULT_BUDGET_S,
) -> dict[str, Any]:
    """The figures of ``ModelProfile.get_details()`` (without name, state and times)."""
    with tempfile.TemporaryDirectory(prefix="amlemu-profile-") as scratch:
        workdir = Path(scratch)
        try:
            env = build_environment(request, workdir, root, root.blobs, mode)
        except CannotValidate as exc:
            raise ProfilingFailed(str(exc)) from None
        run = runtime.run_probe(
            env,
            samples,
            workdir,
            scoring_timeout_ms=int(budget_s * 1000),
            budget_s=budget_s,
            malformed=(),
            calls=calls,
            seconds=seconds,
            trace=False,
        )
    measured = resources.measure(run)
    if measured is None:
        problems = runtime.runtime_findings(run, samples, request.entry_script.name)
        raise ProfilingFailed("\n".join(f.message for f in problems[:1]) or run.ending())
    peak_gb = measured.peak_bytes / resources.GIB
    if memory_in_gb is not None and peak_gb > memory_in_gb:
        raise ProfilingFailed(
            f"The container used {peak_gb:.2f} GB, more than memory_in_gb={memory_in_gb:g}: "
            "Azure stops it (OOMKilled). Profile with more memory, or load less in init()."
        )
    recommended_cpu = recommend_cpu(measured.run_wall_ms, measured.run_cpu_ms)
    at_cpu = cpu if cpu is not None else recommended_cpu
    latencies = measured.run_estimates(at_cpu)
    statuses = [e["status"] for e in run.all("sample")]
    succeeded = sum(1 for status in statuses if 200 <= status < 300)
    utilized = [
        c / w for w, c in zip(measured.run_wall_ms, measured.run_cpu_ms, strict=True) if w > 0
    ]
    total_s = sum(latencies) / 1000
    return {
        "requestedCpu": cpu,
        "requestedMemoryInGB": memory_in_gb,
        "recommendedCpu": recommended_cpu,
        "recommendedMemoryInGB": recommend_memory_gb(measured.peak_bytes),
        "maxUtilizedMemoryInGB": round(peak_gb, 3),
        "maxUtilizedCpu": round(min(max(utilized, default=0.0), at_cpu), 3),
        "totalQueries": len(statuses),
        "successQueries": succeeded,
        "successRate": round(succeeded / len(statuses), 4) if statuses else None,
        "averageLatencyInMs": _ms(sum(latencies) / len(latencies)) if latencies else None,
        "latencyPercentile50InMs": _ms(resources.percentile(latencies, 0.5)),
        "latencyPercentile90InMs": _ms(resources.percentile(latencies, 0.9)),
        "latencyPercentile95InMs": _ms(resources.percentile(latencies, 0.95)),
        "latencyPercentile99InMs": _ms(resources.percentile(latencies, 0.99)),
        "latencyPercentile999InMs": _ms(resources.percentile(latencies, 0.999)),
        "measuredQueriesPerSecond": round(len(latencies) / total_s, 2) if total_s else None,
        "startupTimeInMs": _ms(
            estimated_ms(measured.startup_wall_ms, measured.startup_cpu_ms, at_cpu)
        ),
    }


def recommend_memory_gb(peak_bytes: int) -> float:
    """The peak over 0.8, rounded up to 0.1 GB (at least 0.1)."""
    needed = peak_bytes / resources.GIB / WARN_SHARE
    return max(MEMORY_RANGE_GB[0], math.ceil(round(needed * 10, 6)) / 10)


def recommend_cpu(wall_ms: Sequence[float], cpu_ms: Sequence[float]) -> float:
    """The least quota (0.1 steps, within Azure's range) keeping p99 within the allowance."""
    if not wall_ms:
        return CPU_RANGE[0]
    unthrottled = resources.percentile(wall_ms, 0.99) or 0.0
    allowed = max(2 * unthrottled, unthrottled + _SLACK_MS)
    low, high = (round(bound * 10) for bound in CPU_RANGE)
    for tenths in range(low, high + 1):
        cores = tenths / 10
        estimates = [estimated_ms(w, c, cores) for w, c in zip(wall_ms, cpu_ms, strict=True)]
        if (resources.percentile(estimates, 0.99) or 0.0) <= allowed:
            return cores
    return CPU_RANGE[1]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
