"""The gRPC front of emulated AKS clusters: TF-Serving ``PredictionService/Predict`` for their
accelerated (FPGA) services.

Azure's cluster router takes the gRPC calls of FPGA services beside the HTTP ones, picks the
service from ``x-ms-aml-grpc-service-route: /api/v1/service/<name>`` and checks
``authorization: Bearer <key or token>``. The emulator runs one :class:`PredictionServer` per
cluster, keyed like the HTTP gateways (emulator root, workspace, cluster), on 127.0.0.1 and a
free port of its own: Azure serves both protocols on port 80, the emulator cannot bind a fixed
port (``AksWebservice.grpc_port`` tells it, and :meth:`GrpcGateways.target` lets clients that
dial the HTTP router's address reach it).

The model runs in this (the deploying) process; gRPC calls do not pass through the replicas,
which serve the same file over HTTP ``/score``. A call is answered only while the service has a
ready replica (``UNAVAILABLE`` otherwise) and is checked with the service's live auth, so
regenerated keys and expired tokens fail over gRPC as they do over HTTP.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from emulator.services.deployment import Deployment
from emulator.services.gateway import Gateway
from emulator.services.uris import aks_ip, is_loopback

if TYPE_CHECKING:
    from emulator.accel.routing import AuthCheck
    from emulator.accel.serving import PredictionServer
    from emulator.accel.session import OnnxModel

Key = tuple[str, int, str]
#: Calls in flight may finish this long at exit (a graceful stop also spares open client
#: channels gRPC's "GOAWAY received" log line).
_STOP_GRACE_SECONDS = 0.5


class GrpcGateways:
    """The gRPC endpoints of the clusters this process hosts accelerated services on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._servers: dict[Key, PredictionServer] = {}
        self._routers: dict[Key, Gateway] = {}

    def serve(
        self, root: Path, workspace_id: int, cluster: str, deployment: Deployment, model: OnnxModel
    ) -> int:
        """Serve ``model`` as ``deployment``'s service on the gRPC endpoint of ``cluster``
        (started on first use; replaces an earlier model of that service); returns its port."""
        from emulator.accel.serving import PredictionServer

        key = (str(root), workspace_id, cluster)
        with self._lock:
            server = self._servers.get(key)
            if server is None:
                server = PredictionServer()
                server.start()
                self._servers[key] = server
            self._routers[key] = deployment.gateway
        server.add_service(
            deployment.name, model, _auth_check(deployment), _availability(deployment)
        )
        return server.port

    def withdraw(self, root: Path, workspace_id: int, cluster: str | None, name: str) -> None:
        """Stop serving ``name`` over gRPC (no-op when it is not served)."""
        server = self._servers.get((str(root), workspace_id, cluster or ""))
        if server is not None and server.service(name) is not None:
            with contextlib.suppress(KeyError):  # withdrawn meanwhile
                server.remove_service(name)

    def port(self, root: Path, workspace_id: int, cluster: str | None, name: str) -> int | None:
        """The gRPC port serving ``name`` (None: no accelerated service of that name is live in
        this process)."""
        server = self._servers.get((str(root), workspace_id, cluster or ""))
        if server is None or server.service(name) is None:
            return None
        return server.port

    def target(self, host: str, port: int) -> str | None:
        """The gRPC endpoint of the cluster whose HTTP router is at ``host:port`` (loopback, or
        the Azure-shaped IP that ``AzureMock(azure_uris=True)`` shows; None: no such cluster)."""
        with self._lock:
            pairs = [(self._routers[key], server) for key, server in self._servers.items()]
        for router, server in pairs:
            try:
                netloc = urlsplit(router.url)
            except RuntimeError:  # stopped
                continue
            if (is_loopback(host) and port == netloc.port) or host == aks_ip(netloc.netloc):
                return server.target
        return None

    def shutdown(self) -> None:
        with self._lock:
            servers = list(self._servers.values())
            self._servers.clear()
            self._routers.clear()
        for server in servers:
            server.stop(_STOP_GRACE_SECONDS)


def _auth_check(deployment: Deployment) -> AuthCheck:
    """The service's current auth (a replaced route's, a regenerated key) on every call."""

    def check(token: str | None) -> bool:
        route = deployment.route
        auth = route.auth if route is not None else deployment.auth
        return auth.check(f"Bearer {token}" if token else None) is None

    return check


def _availability(deployment: Deployment) -> Callable[[], str | None]:
    def available() -> str | None:
        if any(replica.ready for replica in deployment.replicas()):
            return None
        state, _ = deployment.state()
        return (
            f"Service {deployment.name!r} has no ready replica (state: {state.value}). "
            "[emulator] wait_for_deployment() first; get_logs() shows why replicas are down."
        )

    return available


GRPC = GrpcGateways()
atexit.register(GRPC.shutdown)
