"""The injection points of one hosted service, handed to its ``Deployment`` by the manager.

One object per live service bundles what the deployment wires in: the backend wrapper its
replicas are launched through (start faults, runs to act on), the front faults its gateway
route consults per request, and the watcher that logs and applies faults from any process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from emulator.faults.store import FaultStore
from emulator.services.injection.front import FrontFaults
from emulator.services.injection.launches import FaultingBackend
from emulator.services.injection.watcher import FaultWatcher, ReplicaView


class HostedFaults:
    """Faults of service ``service`` of workspace ``workspace_id`` under ``root`` (or of the
    target of ``store``: an online deployment, see :meth:`for_online`)."""

    def __init__(
        self, root: Path, workspace_id: int, service: str, store: FaultStore | None = None
    ) -> None:
        self.store = store or FaultStore.for_service(root, workspace_id, service)
        self.front = FrontFaults(FaultStore(self.store.path), service)
        self._backends: dict[str, FaultingBackend] = {}
        self._lock = threading.Lock()
        self._watcher: FaultWatcher | None = None

    @classmethod
    def for_online(
        cls, root: Path, workspace_id: int, endpoint: str, deployment: str
    ) -> HostedFaults:
        """The faults of an SDK v2 online deployment (its own fault file; status faults
        answered as its replicas would, see :class:`FrontFaults`)."""
        store = FaultStore.for_online_deployment(root, workspace_id, endpoint, deployment)
        hosted = cls(root, workspace_id, f"{endpoint}/{deployment}", store)
        hosted.front.online = (endpoint, deployment)
        return hosted

    def backend(self, name: str) -> FaultingBackend:
        """The launching backend for replicas of runtime ``name`` (``process``/``docker``)."""
        with self._lock:
            backend = self._backends.get(name)
            if backend is None:
                backend = self._backends[name] = FaultingBackend(name, self.store)
            return backend

    def watch(self, replicas: Callable[[], Sequence[ReplicaView]]) -> None:
        """Start logging and applying faults to ``replicas()`` (idempotent)."""
        with self._lock:
            if self._watcher is None:
                self._watcher = FaultWatcher(
                    FaultStore(self.store.path), self._all_backends, replicas
                )
                self._watcher.start()

    def close(self) -> None:
        """Stop watching (paused replicas are resumed so they can be stopped cleanly)."""
        with self._lock:
            watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()

    def _all_backends(self) -> list[FaultingBackend]:
        with self._lock:
            return list(self._backends.values())
