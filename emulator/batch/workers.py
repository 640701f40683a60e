"""The engine's side of a batch worker process (:mod:`emulator.batch.worker`).

A worker runs in its own session (killing its process group ends whatever ``run()`` started),
talks over two pipes of its own (the user's ``print()`` goes to its stdout file, never into the
protocol), and is killed when a mini-batch outlives ``retry_settings.timeout``: Python cannot
interrupt a running ``run()``, so the engine replaces the worker, as Azure restarts the process.
A worker is forked from a warm interpreter of the image when it can (:mod:`emulator.batch.warm`),
else started cold; either way it is the same ``worker.py`` on the same pipes.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from emulator.batch.runtime import WorkerRuntime
from emulator.batch.warm import ForkedWorker, WarmStarts
from emulator.exceptions import OperationFailed

OutcomeKind = Literal["ok", "error", "timeout", "died"]
_READ_CHUNK = 1 << 16
#: Lines of a worker's stderr quoted when it could not start.
_TAIL_LINES = 20


@dataclass(frozen=True)
class Outcome:
    """How one try of a mini-batch ended: ``rows`` when ``ok``, else the reason."""

    kind: OutcomeKind
    rows: list[str] = field(default_factory=list)
    error: str = ""


class WorkerProcess:
    """One started worker: ``init()`` awaited by :meth:`ready`, mini-batches by :meth:`run`."""

    def __init__(
        self,
        runtime: WorkerRuntime,
        script: Path,
        env: dict[str, str],
        stdout: Path,
        stderr: Path,
        warm: WarmStarts | None = None,
    ) -> None:
        request_read, self._request = os.pipe()
        self._reply, reply_write = os.pipe()
        command = worker_command(runtime)
        fds = (request_read, reply_write)
        try:
            forked = None
            if warm is not None:
                worker_file = command[1] if len(command) == 2 else None
                forked = warm.fork(worker_file, env, stdout, stderr, fds)
            self.process: subprocess.Popen[bytes] | ForkedWorker = forked or self._cold(
                command, script, env, stdout, stderr, fds
            )
        except BaseException as exc:
            for fd in (self._request, self._reply):
                os.close(fd)
            if not isinstance(exc, OSError):
                raise
            raise OperationFailed(
                f"Cannot start a batch worker with the image's interpreter {runtime.python}: "
                f"{exc.strerror or exc}. [emulator] Rebuild the deployment's image (its "
                "interpreter is gone) or check the environment's python version."
            ) from exc
        finally:
            os.close(request_read)
            os.close(reply_write)
        self._stderr = stderr
        self._buffer = b""
        self._closed = False

    @staticmethod
    def _cold(
        command: list[str],
        script: Path,
        env: dict[str, str],
        stdout: Path,
        stderr: Path,
        fds: tuple[int, int],
    ) -> subprocess.Popen[bytes]:
        """A fresh interpreter running ``worker.py`` with ``fds`` as its pipes."""
        with open(stdout, "ab") as out, open(stderr, "ab") as err:
            return subprocess.Popen(
                [*command, str(script), *(str(fd) for fd in fds)],
                cwd=script.parent,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                pass_fds=fds,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def ready(self) -> str | None:
        """Wait for ``init()``: ``None`` once it returned, else why the worker cannot serve."""
        message = self._receive(None)
        if message is None:
            tail = _tail(self._stderr, _TAIL_LINES)
            return (
                f"The worker process exited with code {self._exit_code()} before init() "
                f"returned. Its stderr ends with:\n{tail}"
            )
        if message.get("event") == "ready":
            return None
        return str(message.get("error") or message)

    def run(self, request_id: int, files: list[str], timeout: float) -> Outcome:
        """One try of a mini-batch; a worker that timed out or died is not usable afterwards."""
        line = json.dumps({"id": request_id, "files": files}).encode() + b"\n"
        try:
            _write_all(self._request, line)
        except OSError:
            return Outcome("died", error=self._died())
        deadline = time.monotonic() + timeout
        message = self._receive(deadline)
        if message is None:
            if time.monotonic() >= deadline and self.process.poll() is None:
                self.kill()
                return Outcome(
                    "timeout",
                    error=f"run() did not return within retry_settings.timeout ({timeout:g} s); "
                    "the worker process was restarted.",
                )
            return Outcome("died", error=self._died())
        if message.get("ok"):
            return Outcome("ok", rows=list(message.get("rows") or []))
        return Outcome("error", error=str(message.get("error") or message))

    def stop(self) -> None:
        """Kill the worker's process group from any thread (cancel): the thread that owns the
        worker sees its pipe end and cleans up."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def kill(self) -> None:
        """End the worker and what it started (its process group), at once; owner thread only."""
        self.stop()
        self.close()

    def close(self) -> None:
        """Let an idle worker end (its requests pipe closes), then reap it."""
        if self._closed:
            return
        self._closed = True
        os.close(self._request)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        os.close(self._reply)

    def _died(self) -> str:
        self.kill()
        return (
            f"The worker process died (exit code {self._exit_code()}) while running the mini batch."
        )

    def _exit_code(self) -> int | None:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None
        return code if code >= 0 else 128 - code

    def _receive(self, deadline: float | None) -> dict[str, Any] | None:
        """The next reply line; ``None`` at end of file or past ``deadline``."""
        while b"\n" not in self._buffer:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return None
            readable, _, _ = select.select([self._reply], [], [], wait)
            if not readable:
                return None
            chunk = os.read(self._reply, _READ_CHUNK)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        message: dict[str, Any] = json.loads(line)
        return message


def worker_command(runtime: WorkerRuntime) -> list[str]:
    """How the image's interpreter starts a worker: the image's ``worker.py`` run as a file
    (it needs only the standard library, so the emulator package and its dependencies are not
    imported: a worker starts in the time Python does), else as a module."""
    for entry in runtime.python_path:
        script = entry / "emulator" / "batch" / "worker.py"
        if script.is_file():
            return [str(runtime.python), str(script)]
    return [str(runtime.python), "-m", "emulator.batch.worker"]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
