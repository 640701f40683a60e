"""Faults at the runtime level: a backend wrapper that fails starts and acts on live runs.

A service's replicas are launched through :class:`FaultingBackend`, which wraps the real
backend (process or Docker) without changing it:

- ``init-failure``: a start that takes one of the fault's attempts runs
  :mod:`emulator.services.injection.failing_init` as its entry script instead of the user's, so
  the server boots, ``init()`` raises with a message naming the fault, the run exits with code 3
  as with any failing ``init()``, and the supervisor's crash-loop handling follows as in Azure;
- ``kill``/``pause``/``memory``: each run is a :class:`FaultyLaunch` that can be sent SIGKILL
  (the whole process group, or ``docker kill``), frozen (SIGSTOP / ``docker pause``) and
  resumed, or killed as the OOM killer would (its exit then reads ``oom_killed``). No memory is
  really allocated: on a machine without cgroup limits that would squeeze every other process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from emulator.faults.model import Fault, FaultKind
from emulator.faults.store import FaultStore
from emulator.images.dockerfile import PYTHON_TREE
from emulator.runtime.backends.base import Backend, ExitStatus, Launch, LaunchSpec
from emulator.runtime.backends.select import select_backend
from emulator.server.config import ENTRY_SCRIPT

FAILING_INIT = Path(__file__).with_name("failing_init.py")


def log_line(path: Path, text: str) -> None:
    """Append an ``[emulator] fault ...`` line to a replica's log (runs append there too)."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"[emulator] fault {text}\n")


class FaultyLaunch:
    """One run of a replica that faults can kill, freeze and resume."""

    def __init__(self, inner: Launch, backend: str) -> None:
        self.inner = inner
        self.backend = backend
        self.paused = False
        self._oom = False

    @property
    def ident(self) -> str:
        return self.inner.ident

    @property
    def limits(self) -> str:
        return self.inner.limits

    def exit_status(self) -> ExitStatus | None:
        status = self.inner.exit_status()
        if status is not None and self._oom and not status.oom_killed:
            return replace(status, oom_killed=True)
        return status

    def stop(self, grace_seconds: float = 5.0) -> None:
        if self.paused:  # a frozen run could not handle SIGTERM
            self.resume()
        self.inner.stop(grace_seconds)

    def kill(self, oom: bool = False) -> None:
        """End the run at once (SIGKILL); ``oom``: report it as the OOM killer's doing."""
        self._oom = self._oom or oom
        self.paused = False
        docker = self._docker()
        if docker is not None:
            with contextlib.suppress(Exception):
                docker.kill(self.ident, signal="SIGKILL")
        else:
            self._signal(signal.SIGKILL)

    def pause(self) -> None:
        docker = self._docker()
        if docker is not None:
            docker.pause(self.ident)
        else:
            self._signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if not self.paused:
            return
        self.paused = False
        docker = self._docker()
        if docker is not None:
            with contextlib.suppress(Exception):
                docker.unpause(self.ident)
        else:
            self._signal(signal.SIGCONT)

    def _docker(self) -> Any:
        return getattr(self.inner, "client", None) if self.backend == "docker" else None

    def _signal(self, signum: signal.Signals) -> None:
        """Signal the run's process group (the server leads its own; workers are in it)."""
        if self.inner.exit_status() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(int(self.ident), signum)


class FaultingBackend:
    """A backend that applies a service's start faults and remembers each replica's run."""

    def __init__(self, inner: Backend | str, store: FaultStore) -> None:
        self.inner: Backend = select_backend(inner) if isinstance(inner, str) else inner
        self.name = self.inner.name
        self.store = store
        self._runs: dict[str, FaultyLaunch] = {}
        self._lock = threading.Lock()

    def launch(self, spec: LaunchSpec) -> FaultyLaunch:
        fault = self.store.take(FaultKind.INIT_FAILURE)
        if fault is not None:
            spec = replace(spec, environment={**spec.environment, ENTRY_SCRIPT: self._script()})
            log_line(spec.log_path, f"{fault.id} applied to {spec.name}: {_attempt(fault)}")
        run = FaultyLaunch(self.inner.launch(spec), self.name)
        with self._lock:
            self._runs[spec.name] = run
        return run

    def run_of(self, container: str) -> FaultyLaunch | None:
        """The current run of the replica (container) named ``container``."""
        with self._lock:
            return self._runs.get(container)

    def _script(self) -> str:
        """Where the failing entry script is, as the run sees the file system."""
        if self.name == "docker":  # the image's copy of the emulator
            return f"{PYTHON_TREE}/emulator/services/injection/{FAILING_INIT.name}"
        return str(FAILING_INIT)


def _attempt(fault: Fault) -> str:
    return f"init() fails on this start (attempt {fault.used} of {fault.times})"
