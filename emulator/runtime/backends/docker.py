"""The docker backend: an image built by the docker builder, run by the local Docker engine.

Each launch is one ``docker run`` (through the Docker SDK, imported lazily): detached, **host
networking only** (the engine has no bridge; no port is published; the scoring server binds
``127.0.0.1:<spec.port>`` in the host's namespace), ``docker-init`` as PID 1 (signals reach the
server, its workers are reaped), the memory limit with swap equal to it (so swap cannot hide an
OOM kill) and the CPU quota applied by the engine, and no restart policy: the supervisor
(:mod:`emulator.runtime.container`) restarts. The server's port is set twice: ``SERVER_PORT``,
and the ``--port`` of the image's command (the generated ``CMD`` names 5001, which wins over
the variable).

A daemon thread follows the container's output (stdout and stderr interleaved, as ``docker
logs`` shows them) into ``spec.log_path``; when the stream ends, the container has exited and
the thread records how (exit code, ``State.OOMKilled``), so :meth:`DockerLaunch.exit_status`
never calls the engine while a run is alive.

Every container carries :data:`RUNTIME_LABEL` besides the spec's labels and is written down by
:mod:`emulator.runtime.reaper` before it starts; :func:`kill_record` is the reaper's killer and
:func:`remove_containers` removes every runtime container matching some labels (a session's).
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emulator.exceptions import OperationFailed
from emulator.images.builders.docker import IMAGE_LABEL, SETUP_HINT, _connect
from emulator.runtime import reaper
from emulator.runtime.backends.base import ExitStatus, LaunchSpec
from emulator.runtime.limits import GIB
from emulator.server import config as server_config
from emulator.server import model_data

__all__ = [
    "NAME",
    "RUNTIME_LABEL",
    "DockerBackend",
    "DockerLaunch",
    "container_name",
    "kill_record",
    "remove_containers",
]

NAME = "docker"
#: Label on every container this backend starts (value: ``docker``). Images' labels are
#: inherited by their containers, so the images' ``azureml-emulator`` label cannot mark them;
#: ``azureml-emulator.container`` already carries the container's name (runtime/labels.py).
RUNTIME_LABEL = "azureml-emulator.runtime"
#: Seconds an engine call may take (a stop adds its grace period to this).
ENGINE_TIMEOUT = 60.0
#: Exit code reported for a container removed behind the backend's back (it was killed).
_REMOVED_EXIT_CODE = 137
_NANO = 1_000_000_000
_MIN_NANO_CPUS = _NANO // 100  # the engine refuses less than 0.01 CPU
_NAME_MAX = 63
_INVALID_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_.-]+")
_BUILDER_HINT = "AZUREML_EMULATOR_BUILDER=docker"

logger = logging.getLogger("azureml.emulator.runtime")


class DockerBackend:
    """Starts images built by the docker builder (``image_location`` is their ``name:tag``)."""

    name = NAME

    def __init__(self, timeout: float = ENGINE_TIMEOUT) -> None:
        self.timeout = timeout

    def launch(self, spec: LaunchSpec) -> DockerLaunch:
        errors = _errors()
        client = connect(self.timeout, f"start container {spec.name}")
        try:
            image = _inspect_image(client, spec.image_location, errors)
            name = container_name(spec.name)
            labels = {**spec.labels, RUNTIME_LABEL: NAME}
            host_config = client.create_host_config(
                network_mode="host",
                init=True,
                binds=_telemetry_binds(spec) + _model_data_binds(spec),
                mounts=_mounts(spec),
                **_resource_limits(client, spec),
            )
            try:
                created = client.create_container(
                    spec.image_location,
                    command=_command(image, spec.port),
                    environment=container_environment(spec),
                    labels=labels,
                    name=name,
                    detach=True,
                    host_config=host_config,
                )
            except errors.APIError as exc:
                raise OperationFailed(
                    f"Cannot create container {spec.name} from image {spec.image_location}: "
                    f"{_explain(exc)}"
                ) from exc
            ident = str(created["Id"])
            record = reaper.record(NAME, ident, labels, {"name": name})
            try:
                client.start(ident)
            except BaseException as exc:
                with contextlib.suppress(Exception):
                    client.remove_container(ident, force=True)
                reaper.forget(record)
                if isinstance(exc, errors.APIError):
                    raise OperationFailed(
                        f"Cannot start container {spec.name} from image "
                        f"{spec.image_location}: {_explain(exc)}"
                    ) from exc
                raise
        except BaseException:
            client.close()
            raise
        return DockerLaunch(client, ident, name, record, spec.log_path)


class DockerLaunch:
    """One run: a container, the thread copying its output, and how it ended."""

    def __init__(
        self, client: Any, ident: str, name: str, record: reaper.Record, log_path: Path
    ) -> None:
        self.client = client
        self.name = name
        self._ident = ident
        self._record = record
        self._log_path = log_path
        self._stop_lock = threading.Lock()
        self._status_lock = threading.Lock()
        self._status: ExitStatus | None = None
        self._stopped = False
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._follower = threading.Thread(
            target=self._follow, name=f"amlemu-docker-logs-{name}", daemon=True
        )
        self._follower.start()

    @property
    def ident(self) -> str:
        return self._ident

    @property
    def limits(self) -> str:
        return "docker"  # the engine applies them, with its cgroups

    def exit_status(self) -> ExitStatus | None:
        if self._status is not None or self._follower.is_alive() or self._stopped:
            return self._status
        # The log stream broke off without an exit (engine trouble): ask the engine.
        return self._settle(self._inspect())

    def stop(self, grace_seconds: float = 5.0) -> None:
        """``docker stop`` (SIGTERM, SIGKILL after ``grace_seconds``), then remove it."""
        with self._stop_lock:
            if self._stopped:
                return
            errors = _errors()
            timeout = max(0, math.ceil(grace_seconds))
            try:
                self.client.stop(self._ident, timeout=timeout)
            except errors.NotFound:
                pass
            except errors.APIError as exc:
                logger.warning("docker stop %s failed: %s", self.name, _explain(exc))
            self._follower.join(timeout=5.0)  # the stream ends with the container
            if self._status is None:
                self._settle(self._inspect())
            try:
                self.client.remove_container(self._ident, force=True)
            except errors.NotFound:
                pass
            except errors.APIError as exc:
                if exc.status_code != 409:  # 409: a removal is already in progress
                    raise OperationFailed(
                        f"Cannot remove container {self.name}: {_explain(exc)}"
                    ) from exc
            reaper.forget(self._record)
            self._stopped = True
            self.client.close()

    def _follow(self) -> None:
        """Append the container's output to the log file until it exits; then record how."""
        try:
            with open(self._log_path, "ab") as log:
                stream = self.client.logs(
                    self._ident, stdout=True, stderr=True, stream=True, follow=True
                )
                for chunk in stream:
                    log.write(chunk)
                    log.flush()
        except Exception as exc:
            logger.debug("Following the output of %s stopped: %s", self.name, exc)
        self._settle(self._inspect())

    def _settle(self, status: ExitStatus | None) -> ExitStatus | None:
        """Keep the first known way the run ended."""
        with self._status_lock:
            if self._status is None:
                self._status = status
            return self._status

    def _inspect(self) -> ExitStatus | None:
        """How the container ended (``None`` while it runs or when the engine cannot tell)."""
        errors = _errors()
        try:
            state = self.client.inspect_container(self._ident)["State"]
        except errors.NotFound:
            return ExitStatus(_REMOVED_EXIT_CODE)
        except Exception as exc:
            logger.debug("docker inspect %s failed: %s", self.name, exc)
            return None
        if state.get("Running") or state.get("Restarting") or state.get("Status") == "created":
            return None
        return ExitStatus(int(state.get("ExitCode", 0)), bool(state.get("OOMKilled")))


def connect(timeout: float = ENGINE_TIMEOUT, purpose: str = "reach the Docker engine") -> Any:
    """A low-level client (the builder's helper), or an ``OperationFailed`` with the fix."""
    try:
        import docker  # noqa: F401
    except ImportError as exc:
        raise OperationFailed(
            f"Cannot {purpose}: the docker runtime needs the Docker SDK for Python.\n"
            "[emulator] pip install 'azureml-emulator[docker]'."
        ) from exc
    try:
        return _connect(timeout)
    except Exception as exc:
        raise OperationFailed(
            f"Cannot {purpose}: Docker engine not reachable ({exc}).\n"
            f"[emulator] Start one: {SETUP_HINT} (as root), or point DOCKER_HOST at a running "
            "engine."
        ) from exc


def container_name(name: str) -> str:
    """A valid, unique Docker container name: ``name`` cleaned up, plus a random suffix."""
    cleaned = _INVALID_NAME_CHARS.sub("-", name).lstrip("_.-")[: _NAME_MAX - 9].rstrip("_.-")
    return f"{cleaned or 'amlemu'}-{uuid.uuid4().hex[:8]}"


def container_environment(spec: LaunchSpec) -> dict[str, str]:
    """Set on top of the image's variables: the deployment's, then ``SERVER_PORT``."""
    return {"PYTHONUNBUFFERED": "1", **spec.environment, server_config.SERVER_PORT: str(spec.port)}


def remove_containers(labels: Mapping[str, str], timeout: float = ENGINE_TIMEOUT) -> int:
    """Force-remove every container of this runtime carrying all of ``labels``; returns how many.

    Used for a dead session's leftovers (``{labels.SESSION: <its id>}``); containers already
    gone are not counted. Raises ``OperationFailed`` when the engine cannot be reached.
    """
    errors = _errors()
    client = connect(timeout, "remove containers")
    try:
        wanted = [f"{RUNTIME_LABEL}={NAME}", *(f"{key}={value}" for key, value in labels.items())]
        found = client.containers(all=True, quiet=True, filters={"label": wanted})
        removed = 0
        for container in found:
            try:
                client.remove_container(container["Id"], force=True)
            except errors.NotFound:
                continue
            except errors.APIError as exc:
                if exc.status_code == 409:  # someone else is removing it
                    continue
                raise
            removed += 1
        return removed
    finally:
        client.close()


def kill_record(record: reaper.Record) -> None:
    """The reaper's killer: force-remove the recorded container. Idempotent."""
    errors = _errors()
    client = connect(ENGINE_TIMEOUT, f"remove container {record.data.get('name', record.ident)}")
    try:
        client.remove_container(record.ident, force=True)
    except errors.NotFound:
        pass
    except errors.APIError as exc:
        if exc.status_code != 409:
            raise
    finally:
        client.close()


def _errors() -> Any:
    try:
        import docker.errors
    except ImportError as exc:
        raise OperationFailed(
            "The docker runtime needs the Docker SDK for Python.\n"
            "[emulator] pip install 'azureml-emulator[docker]'."
        ) from exc
    return docker.errors


def _inspect_image(client: Any, location: str, errors: Any) -> dict[str, Any]:
    """The image's metadata; a missing one (or a local builder's directory) explained."""
    try:
        image: dict[str, Any] = client.inspect_image(location)
    except errors.ImageNotFound as exc:
        raise OperationFailed(
            f"Image {location} cannot be started: it is not in the local Docker engine.\n"
            f"[emulator] The docker runtime starts images built by the docker builder: build "
            f"the image with {_BUILDER_HINT} (or run this one with AZUREML_EMULATOR_RUNTIME="
            "process if it was built by the local builder)."
        ) from exc
    except errors.APIError as exc:
        # Not a reference Docker accepts, e.g. the directory of a local-builder image.
        raise OperationFailed(
            f"Image {location} cannot be started by the docker runtime: {_explain(exc)}\n"
            f"[emulator] It needs an image built with {_BUILDER_HINT}; images of the local "
            "builder run with AZUREML_EMULATOR_RUNTIME=process."
        ) from exc
    return image


def _command(image: Mapping[str, Any], port: int) -> list[str] | None:
    """The image's command with its ``--port`` set to ``port`` (``None``: the image's own; a
    custom container, not built by the emulator, always runs its own as configured)."""
    config = image.get("Config") or {}
    if IMAGE_LABEL not in (config.get("Labels") or {}):
        return None
    command = list(config.get("Cmd") or [])
    for index, arg in enumerate(command[:-1]):
        if arg == "--port":
            command[index + 1] = str(port)
            return command
    return None  # no --port flag: SERVER_PORT decides


def _telemetry_binds(spec: LaunchSpec) -> list[str]:
    """The telemetry file's folder, mounted at the same path: the server records Application
    Insights items there (:mod:`emulator.server.telemetry`), where the host reads them."""
    path = spec.environment.get(server_config.TELEMETRY_FILE)
    if not path:
        return []
    folder = str(Path(path).parent)
    return [f"{folder}:{folder}:rw"]


def _model_data_binds(spec: LaunchSpec) -> list[str]:
    """The folder standing for the workspace's ``modeldata`` container (a service deployed with
    ``collect_model_data=True``), mounted at the same path: the collector writes there."""
    folder = spec.environment.get(model_data.DATA_DIR)
    if not folder:
        return []
    Path(folder).mkdir(parents=True, exist_ok=True)
    return [f"{folder}:{folder}:rw"]


def _mounts(spec: LaunchSpec) -> list[Any]:
    """The spec's read-only mounts (a custom container's model at ``AZUREML_MODEL_DIR``, its
    code folder) as mount objects: a path may hold a ``:`` (a user's folder name), which
    Docker's ``host:inside:ro`` form would split."""
    from docker.types import Mount

    return [
        Mount(target=inside, source=host, type="bind", read_only=True)
        for host, inside in spec.mounts.items()
    ]


def _resource_limits(client: Any, spec: LaunchSpec) -> dict[str, int]:
    limits: dict[str, int] = {}
    if spec.memory_gb is not None:
        memory = int(spec.memory_gb * GIB)
        limits["mem_limit"] = memory
        limits["memswap_limit"] = memory  # no swap on top: an OOM kill is not hidden
    if spec.cpu_cores is not None:
        nano = max(_MIN_NANO_CPUS, int(spec.cpu_cores * _NANO))
        if spec.cpu_cores > 1:
            cpus = int(client.info().get("NCPU") or 0)
            if cpus and nano > cpus * _NANO:
                logger.info(
                    "cpu_cores=%s of %s capped at the engine's %d CPUs",
                    spec.cpu_cores,
                    spec.name,
                    cpus,
                )
                nano = cpus * _NANO  # the engine refuses more than it has
        limits["nano_cpus"] = nano
    return limits


def _explain(exc: Any) -> str:
    return str(getattr(exc, "explanation", None) or exc)
