"""The services this process hosts, and the gateways they are reached through.

Azure gives each ACI service its own endpoint and each AKS cluster one router for all of its
services; the emulator does the same with one :class:`Gateway` per ACI or local service and one
per (emulator root, workspace, cluster). Everything is keyed by the emulator root, so tests
that use separate roots never share a service or a gateway. Gateways are stopped at exit;
replicas are stopped by the runtime's reaper. At exit (or a handled SIGTERM, see
:mod:`emulator.services.termination`) the records of the services this process hosts are
marked stopped, with the reason.

A process attached to the daemon of a root (``amlemu run`` while ``amlemu up`` runs) hands its
SDK v1 deployments over to it: :meth:`Host.hand_over_to` registers the daemon's
:class:`Receiver` for that root, and the v1 face deploys through it instead of hosting here, so
the service outlives the script as Azure's does.
"""

from __future__ import annotations

import atexit
import logging
import os
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from emulator.services.deployment import Deployment
from emulator.services.gateway import Gateway
from emulator.services.registry import mark_host_stopped
from emulator.store.root import EmulatorRoot

logger = logging.getLogger("azureml.emulator.services")

Key = tuple[str, int, str]


class Receiver(Protocol):
    """Another process that hosts this one's v1 deployments (the root's daemon)."""

    def request(self, operation: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Have the host carry out ``operation`` (``deploy``, ``update``, ...) on the service
        ``body`` describes (JSON, in the v1 face's vocabulary); its JSON answer. Raises
        :class:`emulator.exceptions.EmulatorError` with the host's answer when it refused."""


class Host:
    """Live deployments and gateways of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deployments: dict[Key, Deployment] = {}
        self._gateways: dict[Key, Gateway] = {}
        self._roots: set[Path] = set()
        self._receivers: dict[str, Receiver] = {}

    def hand_over_to(self, root: Path, receiver: Receiver | None) -> Receiver | None:
        """v1 deployments in ``root`` go to ``receiver`` (``None``: hosted here again); returns
        the one it replaces, for a nested session to put back."""
        with self._lock:
            previous = self._receivers.pop(str(root), None)
            if receiver is not None:
                self._receivers[str(root)] = receiver
            return previous

    def receiver(self, root: Path) -> Receiver | None:
        """Who hosts the v1 deployments this process makes in ``root`` (``None``: itself)."""
        with self._lock:
            return self._receivers.get(str(root))

    def hosts_in(self, root: Path) -> None:
        """This process creates services in ``root``: mark them stopped when it ends."""
        with self._lock:
            self._roots.add(root)

    def cluster_gateway(
        self, root: Path, workspace_id: int, cluster: str, port: int = 0
    ) -> Gateway:
        """The AKS router of ``cluster``, started on first use on ``port`` (0: a free one; a
        restarted daemon asks for the one its services' scoring URIs name)."""
        key = (str(root), workspace_id, cluster)
        with self._lock:
            gateway = self._gateways.get(key)
            if gateway is None:
                gateway = Gateway("aks")
                gateway.start(port=port)
                self._gateways[key] = gateway
            return gateway

    def deployment(self, root: Path, workspace_id: int, name: str) -> Deployment | None:
        with self._lock:
            return self._deployments.get((str(root), workspace_id, name))

    def deployments(self) -> list[Deployment]:
        """Every live deployment (the in-process mock finds gateways among them)."""
        with self._lock:
            return list(self._deployments.values())

    def add(self, root: Path, workspace_id: int, deployment: Deployment) -> None:
        with self._lock:
            self._deployments[(str(root), workspace_id, deployment.name)] = deployment

    def remove(self, root: Path, workspace_id: int, name: str) -> None:
        """Stop the deployment ``name`` and, for ACI/local services, its own gateway."""
        with self._lock:
            deployment = self._deployments.pop((str(root), workspace_id, name), None)
        if deployment is None:
            return
        deployment.stop()
        if deployment.gateway.mode == "aci":
            deployment.gateway.stop()

    def shutdown(self, reason: str = "exited") -> None:
        """Stop everything; the records of this process's services say ``stopped: the host
        process (pid N) <reason>``."""
        with self._lock:
            deployments = list(self._deployments.values())
            gateways = list(self._gateways.values())
            roots = sorted(self._roots)
            self._deployments.clear()
            self._gateways.clear()
            self._roots.clear()
        for root in roots:
            if (root / "registry.sqlite3").is_file():  # never recreate a deleted root
                try:
                    mark_host_stopped(EmulatorRoot(root), os.getpid(), reason)
                except (OSError, sqlite3.Error) as exc:
                    logger.warning("Cannot mark the services in %s stopped: %s", root, exc)
        for deployment in deployments:
            deployment.stop()
            if deployment.gateway.mode == "aci":
                deployment.gateway.stop()
        for gateway in gateways:
            gateway.stop()


HOST = Host()
atexit.register(HOST.shutdown)
