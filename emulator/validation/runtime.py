"""init() and run() for real, in the declared environment, with the models laid out as in the
container: the run probe (:mod:`.runprobe`) started in the image's interpreter with the image's
variables (``AML_APP_ROOT``, ``AZUREML_MODEL_DIR``, ``AZUREML_ENTRY_SCRIPT``) and its events
turned into findings.

Besides the samples, every validation sends two malformed requests: a script that answers them
with 200 and the text of the exception it caught is flagged (AML031), which is what the seed's
``return str(e)`` does.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.server.config import SCORING_TIMEOUT
from emulator.validation.checks import Finding, finding
from emulator.validation.environment import BuiltEnvironment
from emulator.validation.json_subset import validate as validate_schema
from emulator.validation.limits import Limits
from emulator.validation.target import NO_EXPECTATION, Sample

#: Requests a client could send by mistake: truncated JSON, and JSON of the wrong shape.
MALFORMED = (b'{"data": [[1.0, 2.0', b'{"amlemu_malformed_request": true}')
_LOG_TAIL = 3000
_SHOWN = 300


@dataclass(frozen=True)
class ProbeRun:
    """What the probe reported, and how its process ended."""

    events: tuple[dict[str, Any], ...]
    returncode: int | None
    timed_out: bool
    budget_s: float
    log_tail: str
    malformed: tuple[bytes, ...] = ()

    def first(self, phase: str) -> dict[str, Any] | None:
        return next((e for e in self.events if e["phase"] == phase), None)

    def all(self, phase: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["phase"] == phase]

    def ending(self) -> str:
        """How the process ended, for messages about phases that never reported."""
        if self.timed_out:
            return f"it did not finish within {self.budget_s:g} s and was stopped"
        code = self.returncode
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            oom = " (the kernel's out-of-memory killer?)" if -code == signal.SIGKILL else ""
            return f"the process was killed by {name}{oom}"
        return f"the process exited with code {code}"


def run_probe(
    env: BuiltEnvironment,
    samples: Sequence[Sample],
    workdir: Path,
    *,
    scoring_timeout_ms: int,
    budget_s: float,
    malformed: Sequence[bytes] = MALFORMED,
    calls: int = 0,
    seconds: float = 0.0,
    trace: bool = True,
    variables: dict[str, str] | None = None,
) -> ProbeRun:
    """Start the probe in the environment and wait for it (at most ``budget_s``);
    ``variables`` are the deployment's own, set over the image's as a deployment's are."""
    plan = {
        "samples": [
            {"body": base64.b64encode(s.body).decode(), "contentType": s.content_type}
            for s in samples
        ],
        "malformed": [base64.b64encode(body).decode() for body in malformed],
        "calls": calls,
        "seconds": seconds,
        "trace": trace,
    }
    plan_path, events_path = workdir / "probe-plan.json", workdir / "probe-events.jsonl"
    log_path = workdir / "probe.log"
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    events_path.write_text("", encoding="utf-8")
    timeout_ms = max(1, min(scoring_timeout_ms, int(budget_s * 1000)))
    command = [
        str(env.image.python),
        "-u",
        "-m",
        "emulator.validation.runprobe",
        str(plan_path),
        str(events_path),
    ]
    timed_out = False
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=env.image.app_root,
            env=env.process_environment({**(variables or {}), SCORING_TIMEOUT: str(timeout_ms)}),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            process.wait(timeout=budget_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # not reaped yet: the group is its own
            process.wait()
    lines = events_path.read_text(encoding="utf-8").splitlines()
    events = tuple(json.loads(line) for line in lines if line.strip())
    tail = log_path.read_text(encoding="utf-8", errors="replace")[-_LOG_TAIL:]
    code = None if timed_out else process.returncode
    return ProbeRun(events, code, timed_out, budget_s, tail, tuple(malformed))


def runtime_findings(
    run: ProbeRun, samples: Sequence[Sample], display: str, limits: Limits | None = None
) -> list[Finding]:
    """AML004/040 (start-up), AML050-053 (samples), AML031 (exception texts answered 200);
    a timed-out sample names the timeout as ``limits`` does (v1's key by default)."""
    load, init = run.first("load"), run.first("init")
    if load is None or not load["ok"]:
        return [_load_failure(run, load, display)]
    if init is None or not init["ok"]:
        return [_init_failure(run, init, display)]
    findings = []
    sample_events: dict[int, dict[str, Any]] = {}
    for event in run.all("sample"):
        sample_events.setdefault(event["index"], event)
    for index, sample in enumerate(samples):
        answered = sample_events.get(index)
        if answered is None:
            findings.append(
                finding(
                    "AML050",
                    f"{sample.label} was never answered: {run.ending()}\n{run.log_tail}",
                )
            )
            continue
        findings += _sample_findings(sample, answered, display, limits or Limits())
    if not samples:
        findings.append(finding("AML053", "no sample request was given; run() was not called"))
    leaks = [
        f"{run.malformed[e['index']].decode('utf-8', 'replace')} -> "
        f"{_shown(json.dumps(e['leaked'][0]))}"
        for e in run.all("malformed")
        if e["status"] == 200 and e.get("leaked")
    ]
    if leaks:
        findings.append(
            finding(
                "AML031",
                "malformed requests were answered 200 with the text of an exception raised in "
                "the script:\n" + "\n".join(leaks),
                path=display,
            )
        )
    return findings


def _load_failure(run: ProbeRun, load: dict[str, Any] | None, display: str) -> Finding:
    if load is None:
        return finding(
            "AML040",
            f"the entry script could not be loaded: {run.ending()}\n{run.log_tail}",
            path=display,
        )
    if load["kind"] == "rejected":
        return finding("AML004", load["error"], path=display)
    return finding(
        "AML040",
        f"importing {display} raised:\n{load['error']}",
        hint=_hint_for(load["error"]),
        path=display,
    )


def _init_failure(run: ProbeRun, init: dict[str, Any] | None, display: str) -> Finding:
    if init is None:
        hint = (
            "If init() legitimately takes this long, give validation more time (--timeout); "
            "on AKS check initial_delay_seconds too."
            if run.timed_out
            else None
        )
        return finding(
            "AML040",
            f"init() did not complete: {run.ending()}\n{run.log_tail}",
            hint=hint,
            path=display,
        )
    return finding(
        "AML040", f"init() raised:\n{init['error']}", hint=_hint_for(init["error"]), path=display
    )


def _hint_for(trace: str) -> str | None:
    """A fix for the usual init() failures, from the exception's last line."""
    last = trace.strip().splitlines()[-1] if trace.strip() else ""
    if last.startswith("ModuleNotFoundError"):
        return (
            "Add the missing package to the environment (AML010 lists unresolved imports), or "
            "replace a removed module (AML011)."
        )
    if "ModelNotFoundException" in last or "not found in cache" in last:
        return "Pass the name the model is registered (deployed) under to get_model_path (AML020)."
    if last.startswith(("FileNotFoundError", "IsADirectoryError", "NotADirectoryError")):
        return "Build model paths from AZUREML_MODEL_DIR as the deployment lays them out (AML021)."
    return None


def _sample_findings(
    sample: Sample, event: dict[str, Any], display: str, limits: Limits
) -> list[Finding]:
    kind, status = event["kind"], event["status"]
    if kind == "timeout":
        timeout = limits.names.timeout.format(timeout=limits.scoring_timeout_ms)
        return [
            finding(
                "AML071",
                f"run() did not answer {sample.label} within {timeout}: {event['error']}",
                hint=limits.names.timeout_fix,
            )
        ]
    if kind == "serialization":
        return [
            finding(
                "AML052",
                f"run() returned a {event['outputType']} for {sample.label}: {event['error']}",
                path=display,
            )
        ]
    if status != sample.status:
        detail = event.get("error") or _shown(event.get("body", ""))
        return [
            finding(
                "AML050",
                f"{sample.label} got status {status}, expected {sample.status}:\n{detail}",
                path=display,
            )
        ]
    findings = _leak_findings(sample.label, event, display)
    if sample.has_expectation and kind == "ok":
        try:
            output = json.loads(event.get("body", ""))
        except ValueError:
            output = event.get("body")
        if sample.expect_schema is not None:
            problems = validate_schema(output, sample.expect_schema)
            if problems:
                findings.append(
                    finding(
                        "AML051",
                        f"{sample.label}: run()'s answer does not match expect_schema: "
                        + "; ".join(problems),
                    )
                )
        if sample.expect is not NO_EXPECTATION and output != sample.expect:
            findings.append(
                finding(
                    "AML051",
                    f"{sample.label}: run() answered {_shown(json.dumps(output))}, expected "
                    f"{_shown(json.dumps(sample.expect))}",
                )
            )
    return findings


def _leak_findings(what: str, event: dict[str, Any], display: str) -> list[Finding]:
    leaked = event.get("leaked") or []
    if event["status"] != 200 or not leaked:
        return []
    return [
        finding(
            "AML031",
            f"{what} was answered 200 with the text of an exception raised in the script: "
            f"{_shown(json.dumps(leaked[0]))}",
            path=display,
        )
    ]


def _shown(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."
