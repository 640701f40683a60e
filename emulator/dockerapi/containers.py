"""Containers of the emulator's Docker API: one image run as a replica process, Docker-style.

A container is created (``created``), started (``running``: the image's scoring server, a
process of the runtime's process backend, on a reserved loopback port that stands for the
published ``5001/tcp``), and ends ``exited`` with its exit code when the server stops — stopped,
or crashed because ``init()`` failed. Docker's semantics, not Azure's: no restarts (Docker's
default restart policy is ``no``), no probes, nothing killed for being slow.

One difference, on purpose: :meth:`ContainerStore.start` returns once the scoring server
answers (or has exited), up to :data:`READY_SECONDS`, where Docker returns when the process
starts. azure-ai-ml sleeps 15 s after ``start`` and then reads the status, so an ``init()``
that fails — or takes longer — is reported by the SDK the same way, whatever the machine's
speed. Containers live in the serving process and stop with it.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from emulator.dockerapi.images import SCORING_PORT, DockerImage, ImageStore
from emulator.dockerapi.mounts import Bind, ContainerView, parse_bind
from emulator.exceptions import BadArgument, Conflict, EmulatorError, NotFound, OperationFailed
from emulator.images.builders.local import load_local_image
from emulator.runtime.backends.base import Backend, Launch, LaunchSpec
from emulator.runtime.backends.process import ProcessBackend
from emulator.runtime.labels import container_labels
from emulator.runtime.ports import PortReservation
from emulator.runtime.probes import http_probe
from emulator.store.root import EmulatorRoot

#: How long ``start`` waits for the scoring server to answer (below docker-py's 60 s timeout).
READY_SECONDS = 45.0
_TICK = 0.05
_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
NEVER = "0001-01-01T00:00:00Z"  # Docker's zero time, for StartedAt/FinishedAt not yet reached


@dataclass
class CreateRequest:
    """What ``POST /containers/create`` asked for, in the store's terms."""

    image: str
    name: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    binds: list[str] = field(default_factory=list)
    tty: bool = False
    publish_all_ports: bool = False


@dataclass
class DockerContainer:
    """One container and its current state (changed under the store's lock only)."""

    id: str
    name: str
    image: DockerImage
    image_reference: str
    env: dict[str, str]
    labels: dict[str, str]
    binds: list[Bind]
    tty: bool
    publish_all_ports: bool
    cmd: list[str]
    created: str
    log_path: Path
    status: str = "created"
    exit_code: int = 0
    oom_killed: bool = False
    error: str = ""
    started_at: str = NEVER
    finished_at: str = NEVER
    port: int = 0
    pid: int = 0
    launch: Launch | None = None
    reservation: PortReservation | None = None

    @property
    def ports(self) -> dict[str, list[dict[str, str]] | None]:
        """``NetworkSettings.Ports``: the scoring port published on loopback while running."""
        published = self.status == "running" and self.publish_all_ports
        host = [{"HostIp": "127.0.0.1", "HostPort": str(self.port)}] if published else None
        return {port: host if port == SCORING_PORT else None for port in self.image.exposed}


class ContainerStore:
    """The containers one Docker API server runs (see the module docstring); thread-safe."""

    def __init__(
        self, root: EmulatorRoot, images: ImageStore, backend: Backend | None = None
    ) -> None:
        self.directory = root.path / "dockerapi" / "containers"
        self.images = images
        self.backend: Backend = backend or ProcessBackend()
        self._containers: dict[str, DockerContainer] = {}
        self._lock = threading.RLock()

    def create(self, request: CreateRequest) -> DockerContainer:
        """A ``created`` container; 404 for an unknown image, 409 for a name in use."""
        image = self.images.get(request.image)
        binds = [parse_bind(entry) for entry in request.binds]
        if "AZUREML_ENTRY_SCRIPT" not in request.env:
            raise BadArgument(
                "The container has no AZUREML_ENTRY_SCRIPT. [emulator] The emulator runs "
                "azure-ai-ml's local deployments with a scoring script: give the deployment a "
                "code_configuration (deployments without one, e.g. MLflow models, are not "
                "supported offline)."
            )
        identifier = uuid.uuid4().hex + uuid.uuid4().hex
        name = (request.name or f"amlemu_{identifier[:12]}").lstrip("/")
        if not _NAME.fullmatch(name):
            raise BadArgument(
                f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )
        with self._lock:
            for other in self._containers.values():
                if other.name == name:
                    raise Conflict(
                        f'Conflict. The container name "/{name}" is already in use by container '
                        f'"{other.id}". You have to remove (or rename) that container to be able '
                        "to reuse that name."
                    )
            container = DockerContainer(
                id=identifier,
                name=name,
                image=image,
                image_reference=request.image,
                env=dict(request.env),
                labels=dict(request.labels),
                binds=binds,
                tty=request.tty,
                publish_all_ports=request.publish_all_ports,
                cmd=list(image.plan.cmd),
                created=_now(),
                log_path=self.directory / identifier[:12] / "container.log",
            )
            self._containers[identifier] = container
        return container

    def get(self, reference: str) -> DockerContainer:
        """By id, unique id prefix or name (``/name`` too); 404 ``No such container``."""
        with self._lock:
            found = self._find(reference)
            self._refresh(found)
            return found

    def list(
        self, include_stopped: bool, filters: Mapping[str, Iterable[str]]
    ) -> list[DockerContainer]:
        """Running containers (all with ``include_stopped``) matching every filter, newest first."""
        for key in filters:
            if key not in ("label", "name", "id", "status"):
                raise BadArgument(f"invalid filter '{key}'")
        with self._lock:
            found = []
            for container in self._containers.values():
                self._refresh(container)
                if (include_stopped or container.status == "running") and _matches(
                    container, filters
                ):
                    found.append(container)
        return sorted(found, key=lambda c: c.created, reverse=True)

    def start(self, reference: str) -> bool:
        """Start the container's run; False when it already runs (Docker answers 304)."""
        with self._lock:
            container = self._find(reference)
            self._refresh(container)
            if container.status == "running":
                return False
            image = load_local_image(container.image.location)
            view = ContainerView(container.binds, container.image.plan.workdir, image.app_root)
            reservation = PortReservation()
            spec = LaunchSpec(
                name=container.name,
                image_location=container.image.location,
                port=reservation.port,
                log_path=container.log_path,
                environment=view.translate({**container.image.plan.env, **container.env}),
                labels=container_labels(container.name, "docker-api"),
            )
            try:
                launch = self.backend.launch(spec)
            except EmulatorError as exc:
                reservation.release()
                container.error = exc.message
                raise OperationFailed(
                    f"failed to create task for container: {exc.message}", status=500
                ) from exc
            container.launch, container.reservation = launch, reservation
            container.status, container.port = "running", reservation.port
            container.pid = int(launch.ident) if launch.ident.isdigit() else 0
            container.started_at, container.finished_at = _now(), NEVER
            container.exit_code, container.oom_killed, container.error = 0, False, ""
        self._wait_ready(launch, reservation.port)
        return True

    def _wait_ready(self, launch: Launch, port: int) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline and launch.exit_status() is None:
            if http_probe(port, 1.0).ok:
                return
            time.sleep(_TICK)

    def stop(self, reference: str, grace_seconds: float = 10.0) -> bool:
        """SIGTERM, SIGKILL after ``grace_seconds``; False when it was not running (304)."""
        with self._lock:
            container = self._find(reference)
            self._refresh(container)
            if container.status != "running" or container.launch is None:
                return False
            launch = container.launch
        launch.stop(grace_seconds)
        with self._lock:
            self._refresh(container)
        return True

    def remove(self, reference: str, force: bool = False) -> None:
        """Forget the container (stopping it first with ``force``); 409 while it runs."""
        with self._lock:
            container = self._find(reference)
            self._refresh(container)
            if container.status == "running" and not force:
                raise Conflict(
                    f"You cannot remove a running container {container.id}. Stop the container "
                    "before attempting removal or force remove"
                )
        if container.status == "running":
            self.stop(container.id, 0.0)
        with self._lock:
            self._containers.pop(container.id, None)
        shutil.rmtree(container.log_path.parent, ignore_errors=True)  # as docker rm: logs too

    def logs(self, reference: str, tail: int | None) -> str:
        """The last ``tail`` lines (all with None) of every run's stdout and stderr."""
        container = self.get(reference)
        try:
            text = container.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        lines = text.splitlines(keepends=True)
        if tail is None:
            return text
        return "".join(lines[-tail:]) if tail > 0 else ""

    def close(self) -> None:
        """Stop and remove every container (the server is going away, its replicas with it)."""
        with self._lock:
            containers, self._containers = list(self._containers.values()), {}
        for container in containers:
            if container.launch is not None:
                container.launch.stop(2.0)
            if container.reservation is not None:
                container.reservation.release()
            shutil.rmtree(container.log_path.parent, ignore_errors=True)

    def _find(self, reference: str) -> DockerContainer:
        wanted = reference.lstrip("/")
        if wanted in self._containers:
            return self._containers[wanted]
        named = [c for c in self._containers.values() if c.name == wanted]
        prefixed = [c for i, c in self._containers.items() if i.startswith(wanted)]
        if named:
            return named[0]
        if len(prefixed) == 1 and wanted:
            return prefixed[0]
        raise NotFound(f"No such container: {reference}")

    @staticmethod
    def _refresh(container: DockerContainer) -> None:
        """A running container whose server exited becomes ``exited`` (code, OOM, port freed)."""
        launch = container.launch
        if container.status != "running" or launch is None:
            return
        status = launch.exit_status()
        if status is None:
            return
        launch.stop(0)  # reaps what the run left and forgets its record
        if container.reservation is not None:
            container.reservation.release()
        container.status, container.exit_code = "exited", status.code
        container.oom_killed, container.finished_at = status.oom_killed, _now()
        container.launch, container.reservation, container.pid = None, None, 0


def _matches(container: DockerContainer, filters: Mapping[str, Iterable[str]]) -> bool:
    """Docker's rule: every ``label`` filter must hold; for the other keys, any one value."""
    for key, values in filters.items():
        wanted = list(values)
        if key == "label":
            for value in wanted:
                name, sep, expected = value.partition("=")
                if name not in container.labels or (sep and container.labels[name] != expected):
                    return False
        elif key == "name":
            if not any(v.lstrip("/") in container.name for v in wanted):
                return False
        elif key == "id":
            if not any(container.id.startswith(v) for v in wanted):
                return False
        elif container.status not in wanted:
            return False
    return True


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
