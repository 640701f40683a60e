"""A deployment that did not come up, told by phase (build, startup) with the logs to read.

Azure's own error ("... current service state: Failed ... CrashLoopBackOff") says what went
wrong but not why; the why is in the container's (or the image build's) log, so the error a
test sees carries its tail.
"""

from __future__ import annotations

from typing import Any

BUILD = "build"
STARTUP = "startup"
SCORING = "scoring"
#: Lines of log in an exception message; the failure report section has more.
MESSAGE_LOG_LINES = 30


class DeploymentFailed(Exception):
    """Raised by ``aml_deploy`` (and spec items) when a service does not become healthy."""

    def __init__(self, phase: str, service_name: str, reason: str, logs: str) -> None:
        self.phase = phase
        self.service_name = service_name
        self.reason = reason
        self.logs = logs
        tail = _tail(logs, MESSAGE_LOG_LINES)
        source = "image build log" if phase == BUILD else "container log"
        shown = f"--- {source} of {service_name} (last {MESSAGE_LOG_LINES} lines) ---\n{tail}"
        super().__init__(
            f"[{phase}] service {service_name} did not come up: {reason}\n\n"
            + (shown if tail else f"(the {source} is empty)")
        )


def failure_reason(service: Any, fallback: str) -> str:
    """Azure's error of a failed service in a few lines: state, codes, first message line
    (the full JSON repeats the log, which the exception shows anyway)."""
    error = getattr(service, "error", None)
    if not error:
        return fallback
    details = [d for d in error.get("details") or [] if isinstance(d, dict)]
    codes = " / ".join(str(c) for c in [error.get("code"), *(d.get("code") for d in details)] if c)
    lines = [f"state {service.state} ({codes})"]
    for entry in details or [error]:
        text = str(entry.get("message", "")).split("\n[emulator]")[0].strip()
        # A build step's message is the whole story; Azure's generic tips follow a first line.
        text = f"step '{entry['step']}': {text}" if entry.get("step") else text.split("\n")[0]
        if text:
            lines.append(text)
    return "\n".join(lines)


def failure_phase(service: Any) -> str:
    """``build`` when the image failed, else ``startup`` (crash loop, OOM, unschedulable)."""
    error = getattr(service, "error", None) or {}
    return BUILD if error.get("code") == "EnvironmentBuildFailed" else STARTUP


def service_logs(service: Any, num_lines: int) -> str:
    """The service's container log; the image build log when no container ever started."""
    try:
        logs = service.get_logs(num_lines=num_lines) or ""
    except Exception as exc:  # a deleted or broken service: say so instead of hiding the rest
        logs = f"(logs unavailable: {type(exc).__name__}: {exc})"
    if logs.strip():
        return logs
    try:
        image = service.image
        return _tail(image.get_logs(), num_lines) if image is not None else ""
    except Exception:
        return ""


def _tail(text: str, num_lines: int) -> str:
    return "\n".join(text.splitlines()[-num_lines:])
