"""The errors a failed container reports, with Azure's codes and text.

``CrashLoopBackOff`` keeps the message ACI and AKS return word for word (code that matches on
it keeps working); both errors add an ``[emulator]`` hint with what Azure makes users dig for:
why the last run ended, and the traceback (``init()``'s) from its log.
"""

from __future__ import annotations

from typing import Any

from emulator.runtime.limits import describe_mechanism

CRASH_LOOP = "CrashLoopBackOff"
OOM_KILLED = "OOMKilled"
START_FAILED = "ContainerStartFailed"

_CRASH_TEXT = (
    "Your container application crashed. This may be caused by errors in your scoring file's "
    "init() function.\n"
    "\t1. Please check the logs for your container instance: {name}. From the AML SDK, you can "
    "run print(service.get_logs()) if you have service object to fetch the logs.\n"
    "\t2. You can interactively debug your scoring file locally. Please refer to "
    "https://docs.microsoft.com/azure/machine-learning/how-to-debug-visual-studio-code"
    "#debug-and-troubleshoot-deployments for more information.\n"
    "\t3. You can also try to run image {image} locally. Please refer to "
    "https://aka.ms/debugimage#service-launch-fails for more information."
)
_OOM_TEXT = (
    "Your container application was killed because it ran out of memory: it needs more than "
    "the {memory} GB of memory_gb it was given. This may be caused by loading a large model "
    "in your scoring file's init() function.\n"
    "\t1. Please check the logs for your container instance: {name}. From the AML SDK, you can "
    "run print(service.get_logs()) if you have service object to fetch the logs.\n"
    "\t2. Deploy with a larger memory_gb in the deployment configuration."
)
_TAIL_LINES = 15
_TRACEBACK_LINES = 30
_TRACEBACK = "Traceback (most recent call last):"
#: Starts the lines the supervisor writes into a container's log between runs.
RUN_SEPARATOR = "[emulator] container "


def crash_loop_error(
    name: str, image: str, restarts: int, why: str, log_text: str
) -> dict[str, Any]:
    """The error of a container that kept crashing (Azure's text, then the emulator's hint)."""
    message = _CRASH_TEXT.format(name=name, image=image)
    return {"code": CRASH_LOOP, "message": message + _hint(restarts, why, log_text)}


def oom_error(
    name: str,
    memory_gb: float | None,
    restarts: int,
    why: str,
    log_text: str,
    limits: str | None = None,
) -> dict[str, Any]:
    """The error of a container whose last run the memory limit killed; ``limits`` (the
    mechanism that enforced it) is named, since the rlimit fallback only infers the kill."""
    memory = "unlimited" if memory_gb is None else f"{memory_gb:g}"
    message = _OOM_TEXT.format(name=name, memory=memory) + _hint(restarts, why, log_text)
    if limits is not None:
        message += f"\n[emulator] The memory limit was enforced by {describe_mechanism(limits)}."
    return {"code": OOM_KILLED, "message": message}


def start_error(name: str, message: str) -> dict[str, Any]:
    """A run that could not even be started (image missing, engine down): the backend's text."""
    return {"code": START_FAILED, "message": f"Container {name} could not be started: {message}"}


def _hint(restarts: int, why: str, log_text: str) -> str:
    excerpt = "".join(f"\n\t| {line}" for line in last_run_excerpt(log_text))
    hint = f"\n[emulator] Restarted {restarts} time(s); the last run ended: {why}."
    return hint + (f" From its log:{excerpt}" if excerpt else "")


def last_run_excerpt(log_text: str) -> list[str]:
    """The last run's first traceback (where ``init()`` failed), else its last lines."""
    lines = log_text.rstrip("\n").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(RUN_SEPARATOR)]
    run = lines[starts[-1] + 1 :] if starts else lines
    first = next((i for i, line in enumerate(run) if _TRACEBACK in line), None)
    if first is None:
        return run[-_TAIL_LINES:]
    return run[first : first + _TRACEBACK_LINES]
