"""A pipeline job of command steps run on this machine, one step after another.

What Azure does for a job of a pipeline component batch deployment, without a cluster: each
step is a command component; its ``command`` runs in a shell (``/bin/bash -c``, as Azure's
command jobs do) with ``${{inputs.<name>}}`` and ``${{outputs.<name>}}`` replaced by the
input's path or value and the output's folder (an optional ``$[[ ... ]]`` part is kept only when
every input it names was given), in the step's environment (its image's interpreter is
``python``/``python3`` on ``PATH``), with the step's code folder as working directory. Its
stdout and stderr go to ``<step folder>/user_logs/std_log.txt``, where Azure's common runtime
puts a step's output.

The job is ``Preparing`` until its first step's turn, then ``Running``; a step is
``Preparing`` while its environment's image builds (:class:`PendingStep`), ``Running``, then
``Completed``, or ``Failed`` when it cannot start (a build that fails) or its command exits
non-zero (the message names the step, its exit code and its last log line). A failed step
fails the job and the steps after it never start (``NotStarted``), as with Azure's default
``continue_on_step_failure=False``. Canceling kills the running step's processes: that step and
the job end ``Canceled``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from emulator.batch.logs import append_line
from emulator.batch.runtime import WorkerRuntime
from emulator.exceptions import EmulatorError

PREPARING, RUNNING = "Preparing", "Running"
COMPLETED, FAILED, CANCELED = "Completed", "Failed", "Canceled"
TERMINAL = (COMPLETED, FAILED, CANCELED)
_REFERENCE = re.compile(r"\$\{\{\s*(?P<kind>inputs|outputs)\.(?P<name>[A-Za-z0-9_]+)\s*\}\}")
_OPTIONAL = re.compile(r"\$\[\[(?P<body>.*?)\]\]", re.DOTALL)
#: Seconds a canceled step's processes get between SIGTERM and SIGKILL.
_STOP_GRACE_SECONDS = 5.0


class UnboundReference(ValueError):
    """A command names an input or output its step does not have."""


def substitute(command: str, inputs: Mapping[str, str], outputs: Mapping[str, str]) -> str:
    """``command`` with its ``${{inputs.x}}``/``${{outputs.y}}`` replaced (shell-quoted) and its
    optional ``$[[ ... ]]`` parts kept or dropped; :class:`UnboundReference` for a name the step
    lacks (outside an optional part)."""
    values = {"inputs": inputs, "outputs": outputs}

    def optional(found: re.Match[str]) -> str:
        body = found["body"]
        names = [(m["kind"], m["name"]) for m in _REFERENCE.finditer(body)]
        return body if all(name in values[kind] for kind, name in names) else ""

    def replace(found: re.Match[str]) -> str:
        kind, name = found["kind"], found["name"]
        if name not in values[kind]:
            known = ", ".join(sorted(values[kind])) or "none"
            raise UnboundReference(
                f"The command refers to {kind}.{name}, which the step does not have "
                f"({kind}: {known})."
            )
        return shlex.quote(values[kind][name])

    return _REFERENCE.sub(replace, _OPTIONAL.sub(optional, command))


@dataclass(frozen=True)
class PendingStep:
    """A step as the job holds it before it runs: its name, and how to make it ready (its
    environment's image built, its code in place), which the job does when its turn comes (the
    step is ``Preparing`` meanwhile, as Azure's is while its image builds)."""

    name: str
    prepare: Callable[[], CommandStep]


@dataclass(frozen=True)
class CommandStep:
    """One step: its command (references unresolved), what they resolve to, where it runs."""

    name: str
    command: str
    runtime: WorkerRuntime
    working_dir: Path
    #: The step's folder: ``user_logs/std_log.txt`` goes under it.
    step_dir: Path
    inputs: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, Path] = field(default_factory=dict)
    environment_variables: Mapping[str, str] = field(default_factory=dict)

    @property
    def log_file(self) -> Path:
        return self.step_dir / "user_logs" / "std_log.txt"


#: ``on_step(index, status, error)`` is told each change of a step's status.
StepListener = Callable[[int, str, "str | None"], None]


class PipelineRun:
    """Steps run in order in a background thread (see the module docstring)."""

    def __init__(self, steps: Sequence[PendingStep], on_step: StepListener) -> None:
        self.steps = list(steps)
        self._on_step = on_step
        self._lock = threading.Lock()
        self._status = PREPARING
        self._error: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._canceled = False
        self._done = threading.Event()

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    @property
    def error(self) -> str | None:
        with self._lock:
            return self._error

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def start(self) -> PipelineRun:
        threading.Thread(target=self._run, name="amlemu-pipeline-run", daemon=True).start()
        return self

    def wait(self, timeout: float | None = None) -> str:
        self._done.wait(timeout)
        return self.status

    def cancel(self) -> None:
        """Stop the job: the running step's process group is terminated, nothing more starts."""
        with self._lock:
            if self._status in TERMINAL:
                return
            self._canceled = True
            process = self._process
        if process is not None:
            _stop(process)

    def _run(self) -> None:
        try:
            for index, pending in enumerate(self.steps):
                with self._lock:
                    if self._canceled:
                        break
                    self._status = RUNNING
                self._on_step(index, PREPARING, None)
                try:
                    step = pending.prepare()
                except Exception as exc:  # the step's environment or code: the step fails
                    reason = exc.message if isinstance(exc, EmulatorError) else repr(exc)
                    outcome = FAILED
                    error: str | None = f"Step '{pending.name}' could not start: {reason}"
                else:
                    outcome, error = self._run_step(index, step)
                self._on_step(index, outcome, error)
                if outcome != COMPLETED:
                    self._end(outcome, error)
                    return
            with self._lock:
                canceled = self._canceled
            self._end(CANCELED if canceled else COMPLETED, None)
        except Exception as exc:  # a job must end, never read Running forever
            self._end(FAILED, f"[emulator] The pipeline could not run: {exc!r}")
        finally:
            self._done.set()

    def _run_step(self, index: int, step: CommandStep) -> tuple[str, str | None]:
        with self._lock:
            if self._canceled:  # while the step was prepared
                return CANCELED, None
        step.log_file.parent.mkdir(parents=True, exist_ok=True)
        for folder in step.outputs.values():
            folder.mkdir(parents=True, exist_ok=True)
        try:
            command = substitute(
                step.command, step.inputs, {k: str(v) for k, v in step.outputs.items()}
            )
        except UnboundReference as exc:
            message = (
                f"Step '{step.name}' cannot run: {exc} [emulator] Fix the component's command."
            )
            append_line(step.log_file, message)
            return FAILED, message
        self._on_step(index, RUNNING, None)
        with open(step.log_file, "ab") as log:
            process = subprocess.Popen(
                ["/bin/bash", "-c", command],
                cwd=step.working_dir,
                env=_environment(step),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: cancel stops all of it
            )
            with self._lock:
                self._process = process
                # A cancel between the check above and now found no process to stop.
                canceled_before_start = self._canceled
            if canceled_before_start:
                _stop(process)
            code = process.wait()
            with self._lock:
                self._process = None
                canceled = self._canceled
        if canceled:
            return CANCELED, None
        if code == 0:
            return COMPLETED, None
        last = _last_line(step.log_file)
        return FAILED, (
            f"Step '{step.name}' failed: its command exited with code {code}"
            + (f": {last}" if last else ".")
            + f" See {step.name}'s user_logs/std_log.txt."
        )

    def _end(self, status: str, error: str | None) -> None:
        with self._lock:
            if self._status not in TERMINAL:
                self._status, self._error = status, error


def _environment(step: CommandStep) -> dict[str, str]:
    """The step's variables: the image's (:meth:`WorkerRuntime.environment`), the component's,
    and ``PATH`` starting with a folder where ``python`` is the environment's interpreter."""
    shims = step.step_dir / ".amlemu-bin"
    shims.mkdir(parents=True, exist_ok=True)
    for name in ("python", "python3"):
        link = shims / name
        if not link.is_symlink():
            link.symlink_to(step.runtime.python)
    env = step.runtime.environment(dict(step.environment_variables))
    env["PATH"] = os.pathsep.join((str(shims), env.get("PATH", os.defpath)))
    return env


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the step's process group, killing it after a grace period; a group that is
    already gone (or no longer ours to signal) is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(_STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    found = [line.strip() for line in lines if line.strip()]
    return found[-1] if found else ""
