"""A validation's outcome: findings, measurements, and their text and JSON renderings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from emulator.validation.checks import Finding, Severity

_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
_INDENT = " " * 9


@dataclass
class Report:
    entry_script: str
    findings: list[Finding] = field(default_factory=list)
    #: How the environment was provided: ``mode`` (host|venv), ``python``.
    environment: dict[str, Any] = field(default_factory=dict)
    #: See :func:`emulator.validation.resources.summary`; ``None`` when init() did not run.
    measurements: dict[str, Any] | None = None
    limits: dict[str, Any] = field(default_factory=dict)
    #: The SDK v2 online deployment validated (``file``, ``name``, ``endpointName``,
    #: ``modelDir``); ``None`` for an entry script given directly or by a v1 spec.
    deployment: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.findings.sort(key=lambda f: (_ORDER[f.severity], f.check, f.line or 0))

    @property
    def exit_code(self) -> int:
        """``amlemu validate``'s: 1 with any error-level finding, else 0."""
        return 1 if self.count(Severity.ERROR) else 0

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def ids(self) -> list[str]:
        return [f.check for f in self.findings]

    def to_dict(self) -> dict[str, Any]:
        return {
            "entryScript": self.entry_script,
            "exitCode": self.exit_code,
            "summary": {s.value: self.count(s) for s in Severity},
            "findings": [f.to_dict() for f in self.findings],
            "environment": self.environment,
            "limits": self.limits,
            "measurements": self.measurements,
            **({"deployment": self.deployment} if self.deployment else {}),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_text(self) -> str:
        env = self.environment
        where = {"host": "this interpreter", "venv": "a virtualenv"}.get(
            env.get("mode", ""), "not built"
        )
        target = self.limits.get("target", "?")
        if self.limits.get("instanceType"):
            target += f" {self.limits['instanceType']}"
        lines = [
            f"Validating {self.entry_script} (environment: {where}, python "
            f"{env.get('python', '?')}; target {target})"
        ]
        if self.deployment:
            d = self.deployment
            lines.insert(
                0,
                f"Online deployment {d['name']} of endpoint {d['endpointName']} ({d['file']}); "
                f"AZUREML_MODEL_DIR is {d['modelDir']}",
            )
        for f in self.findings:
            location = f"{f.path}:{f.line}" if f.path and f.line else (f.path or "")
            lines.append(
                f"{f.severity.value:<8} {f.check}  {location + '  ' if location else ''}{f.title}"
            )
            lines += [f"{_INDENT}{line}" for line in f.message.splitlines()]
            lines.append(f"{_INDENT}fix: {f.hint}")
        if self.measurements:
            lines.append(_measurements_line(self.measurements, self.limits))
        counts = [
            f"{self.count(Severity.ERROR)} error(s)",
            f"{self.count(Severity.WARNING)} warning(s)",
            f"{self.count(Severity.INFO)} note(s)",
        ]
        lines.append(", ".join(counts))
        return "\n".join(lines)


def _measurements_line(m: dict[str, Any], limits: dict[str, Any]) -> str:
    startup, run = m["startup"], m["run"]
    cpu = limits.get("cpuCores")
    at = f" at {cpu:g} CPU" if cpu else ""
    memory = limits.get("memoryInGB")
    of = f" of {memory * 1024:.0f} MB" if memory else ""
    text = (
        f"measured: start-up {startup['wallMs']:.0f} ms ({startup['estimatedMs']:.0f} ms{at}), "
        f"peak memory {run['peakMemoryMB']:.0f} MB{of}"
    )
    if run["calls"]:
        text += (
            f"; run() p50 {run['latencyP50Ms']:.1f} ms, max {run['latencyMaxMs']:.1f} ms{at} "
            f"over {run['calls']} call(s)"
        )
    return text
