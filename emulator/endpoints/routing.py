"""Which deployment answers a request to an online endpoint's scoring URI, and which one gets a
copy: Azure's traffic rules, applied per request.

- ``azureml-model-deployment: <name>`` picks that deployment, with or without traffic (a
  deployment that only receives mirrored traffic included); no copy is mirrored then, as Azure
  mirrors only the traffic it routes itself.
- Otherwise the endpoint's ``traffic`` weights decide, over many requests: a smooth weighted
  round robin (nginx's), so 70/30 sends exactly 7 of every 10 requests to the first deployment,
  interleaved (7 in a row would not look like Azure's random split to a load test), and the
  shares hold from the first requests on instead of only on average. No deployment with a
  positive weight: Azure's 404 ``No valid deployments to route to``.
- ``mirror_traffic`` (one deployment, at most 50 %) sends a copy of that share of the routed
  requests to the mirror deployment too: exactly ``percent`` of every 100 (its answers are
  discarded by the caller).

The counters behind these are the routing state of this process (the one serving the scoring
URI), per endpoint; they restart when the endpoint's weights change. The records a request needs
(workspace, endpoint, deployments) are kept between requests while their SQLite file is
unchanged (:class:`_Stamp`: its header's change counter, size and time): reading them on every
request would cost milliseconds, and a change by any process (traffic set through the daemon,
a deployment deleted by ``amlemu``) still applies to the very next request.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from emulator.endpoints.deployments import DeploymentRecord, OnlineDeployments
from emulator.endpoints.registry import EndpointRecord, OnlineEndpoints
from emulator.exceptions import BadArgument, NotFound
from emulator.services.deployment import Deployment
from emulator.services.online import online
from emulator.services.settings import ServiceSettings
from emulator.services.split import WeightedRoundRobin
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceStore

T = TypeVar("T")

#: The request header that names the deployment to route to.
DEPLOYMENT_HEADER = "azureml-model-deployment"

#: Azure's answer (404) when no deployment has a positive weight and no header names one.
NO_VALID_DEPLOYMENTS = (
    "No valid deployments to route to. Please check that the endpoint has at least one "
    "deployment with positive weight values or use a deployment specific header to route."
)

#: The file format write version (header byte 18) of a database in WAL mode.
_WAL_MODE = b"\x02"

_DURATION = re.compile(
    r"P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)


@dataclass(frozen=True)
class RequestSettings:
    """A deployment's ``request_settings`` (Azure's defaults when the client sent none)."""

    #: Milliseconds the replica may take to answer before the endpoint answers 408.
    request_timeout_ms: int = 5000
    #: Requests in flight per instance; more wait in the queue.
    max_concurrent_requests_per_instance: int = 1
    #: Milliseconds a request may wait in the queue before the endpoint answers 429.
    max_queue_wait_ms: int = 500

    @classmethod
    def of(cls, record: DeploymentRecord) -> RequestSettings:
        """The settings of ``record``'s ``properties.requestSettings`` as ARM stores them
        (``requestTimeout``/``maxQueueWait`` ISO 8601 durations, the SDK's ``PT5S``/``PT0.5S``;
        ``maxConcurrentRequestsPerInstance`` an integer)."""
        raw = record.properties.get("requestSettings") or {}
        default = cls()
        concurrency = raw.get("maxConcurrentRequestsPerInstance")
        if concurrency is None:
            concurrency = default.max_concurrent_requests_per_instance
        if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
            raise BadArgument(
                f"Deployment '{record.name}': request_settings.max_concurrent_requests_per_"
                f"instance must be a positive integer, not {concurrency!r}. [emulator] Update the "
                "deployment with a valid value.",
                code="UserError",
            )
        return cls(
            request_timeout_ms=_milliseconds(
                record, "request_timeout_ms", raw.get("requestTimeout"), default.request_timeout_ms
            ),
            max_concurrent_requests_per_instance=concurrency,
            max_queue_wait_ms=_milliseconds(
                record, "max_queue_wait_ms", raw.get("maxQueueWait"), default.max_queue_wait_ms
            ),
        )


def _milliseconds(record: DeploymentRecord, field: str, value: Any, default: int) -> int:
    if value is None:
        return default
    found = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if found is None or not any(found.groupdict().values()):
        raise BadArgument(
            f"Deployment '{record.name}': request_settings.{field} is {value!r}, not an ISO 8601 "
            "duration (the SDK sends e.g. 'PT5S'). [emulator] Update the deployment with "
            f"{field} in milliseconds.",
            code="UserError",
        )
    parts = {k: float(v) if v else 0.0 for k, v in found.groupdict().items()}
    seconds = parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
    return round(seconds * 1000)


@dataclass(frozen=True)
class Route:
    """Where one request goes: ``deployment`` answers it; ``mirror``, if any, gets a copy."""

    deployment: DeploymentRecord
    mirror: DeploymentRecord | None = None


class _EndpointCounters:
    """The round robin over the live traffic and the mirror counter of one endpoint."""

    def __init__(self, weights: dict[str, int], mirror: dict[str, int]) -> None:
        self.robin = WeightedRoundRobin(weights)
        self.mirror_table = mirror
        self.routed = 0

    def next_mirrored(self, percent: int) -> bool:
        """Whether the request now routed is copied: exactly ``percent`` of every 100."""
        before, self.routed = self.routed, self.routed + 1
        return (self.routed * percent) // 100 != (before * percent) // 100


class _Stamp:
    """Records read from one SQLite file, kept while the file is unchanged.

    The stamp is the database header's file change counter (SQLite increments it in every
    committed write transaction of a rollback-journal database, the mode store.Database uses),
    the file's size and modification time, and, should the file ever be switched to WAL mode
    (its header says so), those of its ``-wal`` file: one small read instead of a connection
    and a query. Taken with os-level calls on every request (a buffered ``open()`` and its
    ``close()`` cost twice as much).
    """

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self._wal = self.path + "-wal"
        self._lock = threading.Lock()
        self._seen: tuple[object, ...] | None = None
        self._values: dict[tuple[object, ...], Any] = {}

    def get(self, key: tuple[object, ...], read: Callable[[], T]) -> T:
        """The value cached under ``key`` if the file has not changed since, else ``read()``
        (cached in turn; exceptions are not)."""
        stamp = self._stamp()
        with self._lock:
            if stamp != self._seen:
                self._values.clear()
                self._seen = stamp
            elif key in self._values:
                return self._values[key]
        value = read()
        with self._lock:
            if stamp == self._seen:
                self._values[key] = value
        return value

    def _stamp(self) -> tuple[object, ...]:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return ()
        try:
            header = os.pread(fd, 10, 18)  # bytes 18-19: the journal mode, 24-27: the counter
            info = os.fstat(fd)
        finally:
            os.close(fd)
        logged: tuple[int, int] | None = None
        if header[:1] == _WAL_MODE:
            try:
                wal = os.stat(self._wal)
                logged = (wal.st_mtime_ns, wal.st_size)
            except FileNotFoundError:
                pass
        return (header, info.st_size, info.st_mtime_ns, logged)


class Router:
    """The routing state of one emulator root in this process (the ARM face holds one)."""

    def __init__(self, root: EmulatorRoot) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._counters: dict[tuple[int, str], _EndpointCounters] = {}
        self._workspaces = _Stamp(root.path / "registry.sqlite3")
        self._records = _Stamp(root.path / "endpoints" / "endpoints.sqlite3")
        self._stores: dict[int, tuple[OnlineEndpoints, OnlineDeployments]] = {}

    def workspace_id(self, subscription: str, resource_group: str, workspace: str) -> int | None:
        """The id of the workspace these names designate (any case), or ``None``."""
        key = (subscription.casefold(), resource_group.casefold(), workspace.casefold())

        def read() -> int | None:
            record = WorkspaceStore(self.root).find(subscription, resource_group, workspace)
            return None if record is None else record.id

        return self._workspaces.get(key, read)

    def endpoint(self, workspace_id: int, name: str) -> EndpointRecord:
        """The endpoint ``name`` (:class:`NotFound` naming the workspace's endpoints)."""
        endpoints, _ = self._store(workspace_id)
        return self._records.get(
            ("endpoint", workspace_id, name.casefold()), lambda: endpoints.get(name)
        )

    def _deployment(self, workspace_id: int, endpoint: str, name: str) -> DeploymentRecord:
        _, deployments = self._store(workspace_id)
        key = ("deployment", workspace_id, endpoint.casefold(), name.casefold())
        return self._records.get(key, lambda: deployments.get(endpoint, name))

    def _store(self, workspace_id: int) -> tuple[OnlineEndpoints, OnlineDeployments]:
        """The workspace's endpoint and deployment stores, opened once (opening one runs its
        schema script)."""
        with self._lock:
            stores = self._stores.get(workspace_id)
        if stores is None:
            stores = (
                OnlineEndpoints(self.root, workspace_id),
                OnlineDeployments(self.root, workspace_id),
            )
            with self._lock:
                self._stores[workspace_id] = stores
        return stores

    def choose(self, workspace_id: int, endpoint: EndpointRecord, named: str | None) -> Route:
        """The route of a request to ``endpoint`` whose ``azureml-model-deployment`` header is
        ``named`` (``None`` or empty: none). :class:`NotFound` for a named deployment that does
        not exist, or (``NoValidDeployments``) when no deployment has traffic."""
        if named:
            return Route(self._deployment(workspace_id, endpoint.name, named))
        weights = {name: share for name, share in sorted(endpoint.traffic.items()) if share > 0}
        if not weights:
            raise NotFound(NO_VALID_DEPLOYMENTS, code="NoValidDeployments")
        mirror = {name: share for name, share in endpoint.mirror_traffic.items() if share > 0}
        key = (workspace_id, endpoint.name.casefold())
        with self._lock:
            counters = self._counters.get(key)
            if counters is None or (counters.robin.weights, counters.mirror_table) != (
                weights,
                mirror,
            ):
                counters = self._counters[key] = _EndpointCounters(weights, mirror)
            live = counters.robin.next()
            assert live is not None  # weights has a positive share: checked above
            copied = next(
                (name for name, share in mirror.items() if counters.next_mirrored(share)), None
            )
        return Route(
            self._deployment(workspace_id, endpoint.name, live),
            None if copied is None else self._mirror(workspace_id, endpoint, copied),
        )

    def _mirror(
        self, workspace_id: int, endpoint: EndpointRecord, name: str
    ) -> DeploymentRecord | None:
        """The mirror deployment's record; ``None`` when it is gone (deleted since the traffic
        was set): a missing copy never fails the request it copies."""
        try:
            return self._deployment(workspace_id, endpoint.name, name)
        except NotFound:
            return None


def deliver_to(
    root: EmulatorRoot,
    workspace_id: int,
    deployment: DeploymentRecord,
    settings: RequestSettings,
) -> Deployment | None:
    """The live replicas of ``deployment`` in this process (``None``: none run here), their
    gateway's admission gate and timeout set from the deployment's ``settings``
    (:meth:`RequestSettings.of`): ``max_concurrent_requests_per_instance`` in flight per ready
    replica, waiting at most ``max_queue_wait_ms`` for a slot, ``request_timeout_ms`` for the
    answer."""
    live = online(root.path, workspace_id, deployment.endpoint, deployment.name)
    if live is None or live.route is None:
        return None
    wanted = ServiceSettings(
        replica_max_concurrent_requests=settings.max_concurrent_requests_per_instance,
        max_request_wait_time=settings.max_queue_wait_ms,
        scoring_timeout_ms=settings.request_timeout_ms,
    )
    if live.route.settings != wanted:
        live.route.configure(wanted)
    return live
