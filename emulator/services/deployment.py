"""The live side of one web service: its replicas (runtime containers) behind a gateway route.

A :class:`Deployment` starts ``n`` replicas of an image, gives the gateway a provider of their
ports and readiness, lets the autoscaler change their number, replaces them without downtime on
update (new replicas must be ``Healthy`` before the old ones stop) and folds their states into
the service's state. It lives in the process that deployed the service.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from emulator.exceptions import EmulatorError, OperationFailed
from emulator.runtime.container import Container, ContainerConfig, ContainerState
from emulator.runtime.probes import ImageRoutes, ProbeSettings
from emulator.services.auth import ServiceAuth
from emulator.services.gateway import Gateway
from emulator.services.injection.hosting import HostedFaults
from emulator.services.records import ServiceState
from emulator.services.replicas import Replica
from emulator.services.route import ServiceRoute
from emulator.services.settings import ServiceSettings

#: Seconds a replica removed by scale-down keeps serving the requests it already has.
DRAIN_SECONDS = 1.0
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class ReplicaTemplate:
    """What every replica of a service is started from."""

    image_location: str
    image_name: str
    backend: str
    environment: Mapping[str, str] = field(default_factory=dict)
    cpu_cores: float | None = None
    memory_gb: float | None = None
    liveness: ProbeSettings = field(default_factory=ProbeSettings)
    readiness: ProbeSettings | None = None
    #: A custom container's own port and routes (``inference_config``); ``None``: the scoring
    #: server's (see :class:`~emulator.runtime.container.ContainerConfig`).
    routes: ImageRoutes | None = None
    #: Host folders mounted read-only in the replicas (host path -> container path).
    mounts: Mapping[str, str] = field(default_factory=dict)
    #: Where the probes ask the replicas' own server (liveness, readiness), without ``routes``.
    probe_paths: tuple[str, str] = ("/", "/")
    #: A path prefix the replicas answer scoring requests under besides ``/score`` (a Triton
    #: image's V2 protocol, ``/v2``): its requests pass the gate, timeout and faults as
    #: ``/score``'s do (see :class:`~emulator.services.route.ServiceRoute`).
    scoring_prefix: str | None = None


class Deployment:
    """Replicas of service ``name`` on ``gateway`` (see the module docstring)."""

    def __init__(
        self,
        name: str,
        template: ReplicaTemplate,
        gateway: Gateway,
        settings: ServiceSettings,
        auth: ServiceAuth,
        replicas: int,
        faults: HostedFaults | None = None,
    ) -> None:
        self.name = name
        #: Fault injection points (``None``: no faults), see :mod:`emulator.faults`.
        self.faults = faults
        self.template = template
        self.gateway = gateway
        self.settings = settings
        self.auth = auth
        self.desired = replicas
        self._lock = threading.RLock()
        self._containers: list[Container] = []
        self._counter = 0
        #: Names this generation of replicas (``<service>-<generation>-<n>``): a new one per
        #: rolling update, so a failed update's replicas are told from those still serving.
        self._generation = uuid.uuid4().hex[:6]
        self._was_healthy = False
        self.route: ServiceRoute | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the replicas and route the service to them (does not wait for ``init()``)."""
        with self._lock:
            self._containers = [self._start_replica() for _ in range(self.desired)]
        scale = self.scale if self.settings.autoscale_enabled else None
        self.route = self.gateway.add_service(
            self.name, self.replicas, self.settings, self.auth, scale
        )
        self._configure_route()

    def replicas(self) -> list[Replica]:
        """The gateway's view: every replica with its port and readiness (called per request)."""
        with self._lock:
            containers = list(self._containers)
        return [
            Replica(id=c.name, port=c.port, ready=c.ready, path=_scoring_path(c))
            for c in containers
        ]

    def scale(self, count: int) -> None:
        """Add or remove replicas until there are ``count`` (the autoscaler calls this)."""
        with self._lock:
            self.desired = count
            while len(self._containers) < count:
                self._containers.append(self._start_replica())
            removed = self._containers[count:]
            del self._containers[count:]
        if self.route is not None:
            self.route.notify()
        for container in removed:
            threading.Timer(DRAIN_SECONDS, container.stop).start()

    def replace(
        self,
        template: ReplicaTemplate,
        settings: ServiceSettings,
        auth: ServiceAuth,
        replicas: int,
        timeout: float,
    ) -> dict[str, Any] | None:
        """Rolling update: start the new replicas, switch traffic once all are ``Healthy``, stop
        the old ones. On failure the old replicas keep serving; returns the new ones' error."""
        generation = uuid.uuid4().hex[:6]
        fresh = [self._start_replica(template, generation) for _ in range(replicas)]
        error = _wait_all(fresh, timeout)
        if error is not None:
            for container in fresh:
                container.stop()
            return error
        with self._lock:
            old, self._containers = self._containers, fresh
            self.template, self.settings, self.auth, self.desired = (
                template,
                settings,
                auth,
                replicas,
            )
            self._generation = generation
        scale = self.scale if settings.autoscale_enabled else None
        self.route = self.gateway.add_service(self.name, self.replicas, settings, auth, scale)
        self._configure_route()
        for container in old:
            threading.Timer(DRAIN_SECONDS, container.stop).start()
        return None

    def stop(self) -> None:
        """Stop routing and stop every replica (idempotent)."""
        if self.faults is not None:
            self.faults.close()
        self.gateway.remove_service(self.name)
        with self._lock:
            containers, self._containers = self._containers, []
        for container in containers:
            container.stop()

    # -- state ---------------------------------------------------------------------------------

    def state(self) -> tuple[ServiceState, dict[str, Any] | None]:
        """The service's state from its replicas': any ``Failed`` replica fails the service;
        once ``Healthy``, it stays so while at least one replica is ready."""
        with self._lock:
            statuses = [c.status for c in self._containers]
        for status in statuses:
            if status.state is ContainerState.FAILED:
                return ServiceState.FAILED, status.error
        ready = sum(status.ready for status in statuses)
        if statuses and ready == len(statuses):
            self._was_healthy = True
            return ServiceState.HEALTHY, None
        if self._was_healthy:
            return (ServiceState.HEALTHY if ready else ServiceState.UNHEALTHY), None
        return ServiceState.TRANSITIONING, None

    def wait(self, timeout: float | None) -> tuple[ServiceState, dict[str, Any] | None]:
        """Block until the state is no longer ``Transitioning`` (or ``timeout`` seconds)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            state, error = self.state()
            if state is not ServiceState.TRANSITIONING:
                return state, error
            if deadline is not None and time.monotonic() >= deadline:
                return state, error
            self.settle(_POLL_SECONDS)

    def settle(self, timeout: float) -> None:
        """Sleep up to ``timeout`` seconds, waking as soon as a starting replica becomes
        ``Healthy`` or fails (pollers see the change at once, not at their next tick)."""
        starting = [c for c in self.containers() if c.status.state is ContainerState.TRANSITIONING]
        if starting:
            starting[0].wait_until_ready(timeout)
        else:
            time.sleep(timeout)

    def logs(self, num_lines: int | None = 5000) -> str:
        """One replica's log, as Azure shows one pod's: a failed replica's first, else the
        first replica's."""
        with self._lock:
            containers = list(self._containers)
        if not containers:
            return ""
        failed = [c for c in containers if c.status.state is ContainerState.FAILED]
        return (failed or containers)[0].logs(num_lines)

    @property
    def replica_count(self) -> int:
        with self._lock:
            return len(self._containers)

    def containers(self) -> list[Container]:
        """The replicas' containers, in order (replica 0 first)."""
        with self._lock:
            return list(self._containers)

    def _configure_route(self) -> None:
        """The new route gets the template's scoring prefix and the deployment's faults."""
        if self.route is not None:
            self.route.scoring_prefix = self.template.scoring_prefix
        if self.faults is not None and self.route is not None:
            self.route.faults = self.faults.front
            self.faults.watch(self.containers)

    def _start_replica(
        self, template: ReplicaTemplate | None = None, generation: str | None = None
    ) -> Container:
        template = template or self.template
        self._counter += 1
        config = ContainerConfig(
            name=f"{self.name}-{generation or self._generation}-{self._counter}",
            image_location=template.image_location,
            image_name=template.image_name,
            environment=template.environment,
            cpu_cores=template.cpu_cores,
            memory_gb=template.memory_gb,
            service=self.name,
            replica=self._counter,
            liveness=template.liveness,
            readiness=template.readiness,
            routes=template.routes,
            probe_paths=template.probe_paths,
            mounts=template.mounts,
        )
        backend = self.faults.backend(template.backend) if self.faults else template.backend
        container = Container(config, backend)
        try:
            return container.start()
        except EmulatorError:
            raise
        except Exception as exc:
            raise OperationFailed(
                f"Replica {config.name} of service {self.name} could not be started: {exc}"
            ) from exc


def _scoring_path(container: Container) -> str | None:
    """Where a custom container answers scoring requests (``None``: the request's own path)."""
    routes = container.config.routes
    return None if routes is None else routes.scoring.path


def _wait_all(containers: list[Container], timeout: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    for container in containers:
        status = container.wait_until_ready(max(0.0, deadline - time.monotonic()))
        if status.state is ContainerState.FAILED:
            return status.error
        if not status.ready:
            return {
                "code": "DeploymentTimedOut",
                "message": f"Replica {container.name} did not become healthy within {timeout:g} s.",
            }
    return None
