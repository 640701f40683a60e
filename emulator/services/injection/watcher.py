"""The hosting process's side of a service's faults: log them, and apply replica actions.

Any process may change a service's fault file; only the process that deployed the service holds
its replicas. :class:`FaultWatcher` runs there, in a daemon thread that checks the file every
50 ms (one ``stat`` while nothing changes). It writes an ``[emulator] fault ...`` line into
every replica's log for each fault injected, applied or removed (so ``get_logs()`` shows it),
applies ``kill``/``pause``/``memory`` to the live run of the replica they name, marks them
``done`` in the file, and resumes a paused replica when its fault is removed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from emulator.faults.model import ACTION_KINDS, Fault, FaultKind, FaultState
from emulator.faults.store import FaultStore
from emulator.services.injection.launches import FaultingBackend, FaultyLaunch, log_line

POLL_SECONDS = 0.05
logger = logging.getLogger("azureml.emulator.faults")


class ReplicaView(Protocol):
    """What the watcher needs of a replica (a runtime ``Container``)."""

    @property
    def name(self) -> str: ...

    log_path: Path


class FaultWatcher:
    """Watches one service's faults in the process hosting it (see the module docstring)."""

    def __init__(
        self,
        store: FaultStore,
        backends: Callable[[], Sequence[FaultingBackend]],
        replicas: Callable[[], Sequence[ReplicaView]],
    ) -> None:
        self.store = store
        self._backends = backends
        self._replicas = replicas
        self._last_event = 0
        self._paused: dict[str, FaultyLaunch] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def start(self) -> None:
        if self._thread is not None:
            return
        self._last_event = max((event["seq"] for event in self.store.events()), default=0)
        for fault in self.store.faults():
            if fault.state is not FaultState.DONE:
                self._log(f"{fault.id} active: {fault.describe()}")
        self._thread = threading.Thread(
            target=self._run, name=f"amlemu-faults-{self.store.target}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        for run in self._paused.values():
            run.resume()
        self._paused.clear()

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self.poll()
                self._failing = False
            except Exception:  # a broken fault file must not stop the service
                if not self._failing:
                    logger.exception("Reading the faults of %s failed", self.store.target)
                self._failing = True

    def poll(self) -> None:
        """Notice changes once: log them, apply pending actions, resume removed pauses."""
        for event in self.store.events():
            if event["seq"] > self._last_event:
                self._last_event = event["seq"]
                self._log(f"{event['fault']} {event['event']}: {event['text']}")
        current = {fault.id: fault for fault in self.store.faults()}
        for fault_id in [fault_id for fault_id in self._paused if fault_id not in current]:
            self._paused.pop(fault_id).resume()
        for fault in current.values():
            if fault.kind in ACTION_KINDS and fault.state is FaultState.PENDING:
                self._apply(fault)

    def _apply(self, fault: Fault) -> None:
        replicas = list(self._replicas())
        index = fault.replica or 0
        if index >= len(replicas):
            self._finish(fault, f"not applied: the service has {len(replicas)} replica(s)")
            return
        target = replicas[index]
        run = next((r for b in self._backends() if (r := b.run_of(target.name)) is not None), None)
        if run is None or run.exit_status() is not None:
            return  # between runs (restarting): try again at the next poll
        if fault.kind is FaultKind.KILL:
            run.kill()
            what = f"replica {index} ({target.name}) killed with SIGKILL"
        elif fault.kind is FaultKind.MEMORY:
            run.kill(oom=True)
            what = f"replica {index} ({target.name}) ran out of memory: OOMKilled"
        else:
            run.pause()
            self._paused[fault.id] = run
            what = f"replica {index} ({target.name}) paused (SIGSTOP)"
        self._finish(fault, what)

    def _finish(self, fault: Fault, detail: str) -> None:
        self.store.update(fault.id, lambda f: replace(f, state=FaultState.DONE, detail=detail))
        self._log(f"{fault.id} applied: {detail}")

    def _log(self, text: str) -> None:
        for replica in self._replicas():
            log_line(replica.log_path, text)
