"""The services this process hosts, and the gateways they are reached through.

Azure gives each ACI service its own endpoint and each AKS cluster one router for all of its
services; the emulator does the same with one :class:`Gateway` per ACI or local service and one
per (emulator root, workspace, cluster). Everything is keyed by the emulator root, so tests
that use separate roots never share a service or a gateway. Gateways are stopped at exit;
replicas are stopped by the runtime's reaper.
"""

from __future__ import annotations

import atexit
import threading
from pathlib import Path

from emulator.services.deployment import Deployment
from emulator.services.gateway import Gateway

Key = tuple[str, int, str]


class Host:
    """Live deployments and gateways of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deployments: dict[Key, Deployment] = {}
        self._gateways: dict[Key, Gateway] = {}

    def cluster_gateway(self, root: Path, workspace_id: int, cluster: str) -> Gateway:
        """The AKS router of ``cluster`` (started on first use)."""
        key = (str(root), workspace_id, cluster)
        with self._lock:
            gateway = self._gateways.get(key)
            if gateway is None:
                gateway = Gateway("aks")
                gateway.start()
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

    def shutdown(self) -> None:
        with self._lock:
            deployments = list(self._deployments.values())
            gateways = list(self._gateways.values())
            self._deployments.clear()
            self._gateways.clear()
        for deployment in deployments:
            deployment.stop()
            if deployment.gateway.mode == "aci":
                deployment.gateway.stop()
        for gateway in gateways:
            gateway.stop()


HOST = Host()
atexit.register(HOST.shutdown)
