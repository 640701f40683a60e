"""SDK v1 web services the daemon hosts for other processes, as it hosts SDK v2 deployments.

A script attached to the daemon (``amlemu run`` while ``amlemu up`` runs) hands its deployments
over (:mod:`emulator.sdk.webservice.handover`, through :mod:`emulator.daemon.handover`); the
daemon deploys them with the same :class:`~emulator.services.manager.ServiceManager` a script
uses, so the record, gateway and replicas are the daemon's: the service outlives the script, keeps
its scoring URI, is stopped by ``amlemu down`` (its record then says so) and is brought back by
the next ``amlemu up`` (:meth:`V1Services.restore`) on the port its scoring URI names, rebuilt
from the configuration arguments kept in its record.

Only the hosting process sees a service's replicas, and other processes read its record, so a
watcher thread keeps the records of the services the daemon hosts in step with their replicas
(``Transitioning`` → ``Healthy``, a crash → ``Failed``) and applies what other processes change
in the record: a deleted service is stopped, regenerated keys are what the gateway accepts. It
wakes when a starting service's replica becomes ready or fails, when a service is handed over,
and when another process asks (``sync``, after a delete or new keys); a crash of a serving
replica is seen within :data:`IDLE_SECONDS`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from emulator.daemon.server import can_bind
from emulator.exceptions import BadArgument, EmulatorError, NotFound
from emulator.images.records import ImageRecord
from emulator.sdk.exceptions import WebserviceException
from emulator.sdk.webservice.base import validate_service_name
from emulator.sdk.webservice.handover import daemon_spec, stored_arguments
from emulator.sdk.workspace import workspace_of
from emulator.services.deployment import Deployment
from emulator.services.hosting import HOST
from emulator.services.records import ServiceRecord, ServiceState
from emulator.services.registry import host_stopped_error
from emulator.state import WorkspaceState, workspace_states
from emulator.store.root import EmulatorRoot

logger = logging.getLogger("emulator.daemon")

#: The longest the watcher waits while a service starts: it wakes as soon as the replica it
#: waits on is ready or fails, and looks at the other starting services at least this often
#: (``wait_for_deployment`` in a script polls every 0.1 s).
STARTING_SECONDS = 0.2
#: How often the watcher looks at serving replicas (a crash): nothing else changes unasked.
IDLE_SECONDS = 1.0
#: Errors of services whose host ended (the daemon itself, stopped or killed): brought back.
HOST_ENDED = ("ServiceHostStopped", "ServiceHostExited")
#: What the record of a service the daemon stopped on its way out tells (:meth:`V1Services.
#: restore` brings those back).
_BACK_HINT = "[emulator] The next `amlemu up` for this root brings it back at the same scoring URI."
_LIVE = (ServiceState.TRANSITIONING, ServiceState.HEALTHY, ServiceState.UNHEALTHY)

#: One request of another process: its JSON body → the JSON answer.
Operation = Callable[[Mapping[str, Any]], dict[str, Any]]


class V1Services:
    """The v1 services the daemon of ``root`` hosts (see the module docstring)."""

    def __init__(self, root: EmulatorRoot) -> None:
        self.root = root
        self._lock = threading.Lock()
        #: Held while a deploy changes records and while the watcher reads one.
        self._records = threading.RLock()
        self._hosted: set[tuple[int, str]] = set()
        self._stop = threading.Event()
        #: Set when the watcher should look now (a service handed over, the daemon stopping).
        self._wake = threading.Event()
        self._watcher: threading.Thread | None = None
        #: Ports restored services were given (the services of one AKS cluster share one).
        self._ports: set[int] = set()

    def operations(self) -> dict[str, Operation]:
        """What other processes may ask of the daemon (:mod:`emulator.daemon.handover`)."""
        return {
            "deploy": self.deploy,
            "update": self.update,
            "reload": self.reload,
            "logs": self.logs,
            "sync": self.sync,
        }

    def deploy(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Deploy the service a script handed over; answers once its ``Transitioning`` record
        exists. Raises :class:`EmulatorError` (or the v1 face's ``WebserviceException``) naming
        what is wrong with the request."""
        state = self._workspace(request.get("workspace"))
        name = request.get("name")
        if not isinstance(name, str):
            raise BadArgument("The request names no service: give its name as a string.")
        validate_service_name(name)
        image = _image(state, request.get("image"))
        compute_type = str(request.get("computeType") or "")
        spec = daemon_spec(workspace_of(state), compute_type, _arguments(request))
        with self._records:  # the watcher never sees the record an overwrite replaces as gone
            self.sweep()  # a service deleted elsewhere frees its port before a new one takes it
            record = state.service_manager().deploy(
                name, spec, image, overwrite=bool(request.get("overwrite"))
            )
            self._host(state.id, name)
        logger.info(
            "Hosting %s service '%s' of workspace '%s', handed over by a client.",
            compute_type,
            name,
            state.record.name,
        )
        return _answer(record)

    def update(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Roll a hosted service over to a new configuration (and image); answers once the new
        replicas serve (the old ones keep serving when they fail)."""
        state, record = self._hosted_service(request)
        image_id = request.get("image")
        image = _image(state, image_id) if image_id is not None else None
        spec = daemon_spec(workspace_of(state), record.compute_type, _arguments(request))
        return _answer(state.service_manager().update(record, spec, image))

    def reload(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """``LocalWebservice.reload()``: restart the replica from its image."""
        state, record = self._hosted_service(request)
        deployment = state.service_manager().deployment(record.name)
        if deployment is None:
            raise BadArgument(f"Cannot call reload() when service is {record.state}.")
        deployment.replace(deployment.template, deployment.settings, deployment.auth, 1, 600.0)
        return _answer(state.service_manager().get(record.name) or record)

    def logs(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """A hosted service's log, as ``get_logs(num_lines)`` in the deploying process."""
        state, record = self._hosted_service(request)
        lines = request.get("lines")
        count = lines if isinstance(lines, int) and not isinstance(lines, bool) else None
        return {"logs": state.service_manager().logs(record, count)}

    def sync(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Apply at once what another process changed in the records (a delete, new keys)."""
        self.sweep()
        return {}

    def restore(self) -> None:
        """Bring back the services this root's daemon hosted when it ended (stopped, killed or
        crashed). Each starts in the background, ``Transitioning`` until its replicas are
        ready, as a deploy."""
        for state in workspace_states(self.root).all():
            for record in state.services.records():
                arguments = stored_arguments(record)
                if arguments is None or not _host_ended(record):
                    continue
                try:
                    self._resume(state, record, arguments)
                except (EmulatorError, WebserviceException) as exc:
                    logger.warning(
                        "The service '%s' could not be brought back: %s", record.name, exc
                    )
                    with contextlib.suppress(LookupError):  # deleted meanwhile
                        state.services.update(
                            record,
                            state=ServiceState.FAILED,
                            error={"code": "ServiceRestoreFailed", "message": str(exc)},
                            owner_pid=os.getpid(),
                        )

    def _resume(
        self, state: WorkspaceState, record: ServiceRecord, arguments: dict[str, Any]
    ) -> None:
        image = _image(state, record.image_id)
        spec = daemon_spec(workspace_of(state), record.compute_type, arguments)
        port = _port_of(record.scoring_uri)
        if port and port not in self._ports and not can_bind(port):  # AKS services share theirs
            logger.warning(
                "Port %d of service '%s' is in use: it serves on another one, so its scoring URI "
                "changes. Stop what holds port %d and restart to keep it.",
                port,
                record.name,
                port,
            )
            port = 0
        self._ports.add(port)
        state.service_manager().resume(record, replace(spec, port=port or spec.port), image)
        self._host(state.id, record.name)
        logger.info(
            "Bringing back %s service '%s' (it was %s).",
            record.compute_type,
            record.name,
            record.state,
        )

    def sweep(self) -> list[Deployment]:
        """One pass of the watcher: records follow the replicas, the replicas follow what
        other processes changed (deleted, keys regenerated). Returns the services still
        starting (the watcher waits on their replicas)."""
        with self._lock:
            hosted = sorted(self._hosted)
        starting = []
        for workspace_id, name in hosted:
            with self._records:
                deployment = self._sweep_one(workspace_id, name)
            if deployment is not None:
                starting.append(deployment)
        return starting

    def _sweep_one(self, workspace_id: int, name: str) -> Deployment | None:
        """Bring one service in step; its deployment while it is still ``Transitioning``."""
        state = workspace_states(self.root).by_id(workspace_id)
        record = state.services.get(name) if state else None
        if state is None or record is None or record.owner_pid != os.getpid():
            HOST.remove(self.root.path, workspace_id, name)  # deleted by another process
            with self._lock:
                self._hosted.discard((workspace_id, name))
            logger.info("Stopped service '%s': it was deleted.", name)
            return None
        if record.state not in _LIVE:
            return None
        manager = state.service_manager()
        record = manager.refresh(record)
        deployment = manager.deployment(name)
        if deployment is not None and deployment.route is not None:
            auth = deployment.route.auth
            if record.primary_key and auth.primary_key != record.primary_key:
                auth.regen_key("Primary", record.primary_key)
            if record.secondary_key and auth.secondary_key != record.secondary_key:
                auth.regen_key("Secondary", record.secondary_key)
        starting = record.state is ServiceState.TRANSITIONING
        return deployment if starting else None

    def stop(self, reason: str | None = None) -> None:
        """Stop the watcher; with ``reason`` (``received SIGTERM``...) the daemon is ending:
        stop the services too, their records saying so and that the next ``amlemu up`` brings
        them back (the daemon's other services are stopped by its host's shutdown)."""
        self._stop.set()
        self._wake.set()
        if self._watcher is not None:
            self._watcher.join()
        if reason is None:
            return
        with self._lock:
            hosted = sorted(self._hosted)
            self._hosted.clear()
        for workspace_id, name in hosted:
            HOST.remove(self.root.path, workspace_id, name)
            state = workspace_states(self.root).by_id(workspace_id)
            record = state.services.get(name) if state else None
            if state is None or record is None or record.owner_pid != os.getpid():
                continue
            with contextlib.suppress(LookupError):  # deleted meanwhile
                state.services.update(
                    record,
                    state=ServiceState.FAILED,
                    error=host_stopped_error(
                        os.getpid(), reason, host="the emulator daemon", hint=_BACK_HINT
                    ),
                    port=None,
                )

    def _host(self, workspace_id: int, name: str) -> None:
        with self._lock:
            self._hosted.add((workspace_id, name))
            if self._watcher is None:
                self._watcher = threading.Thread(
                    target=self._watch, name="amlemu-v1-watcher", daemon=True
                )
                self._watcher.start()
        self._wake.set()

    def _watch(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # a wake-up set while sweeping ends the wait below at once
            try:
                starting = self.sweep()
            except Exception:  # a busy database, a root being removed: try again next tick
                logger.exception("Keeping the v1 services' records up to date failed")
                starting = []
            if starting:
                starting[0].settle(STARTING_SECONDS)
            else:
                self._wake.wait(IDLE_SECONDS)

    def _hosted_service(self, request: Mapping[str, Any]) -> tuple[WorkspaceState, ServiceRecord]:
        state = self._workspace(request.get("workspace"))
        name = request.get("name")
        record = state.services.get(name) if isinstance(name, str) else None
        if record is None:
            raise NotFound(
                f"WebserviceNotFound: Webservice with name {name} not found in provided workspace.",
                code="WebserviceNotFound",
            )
        if record.owner_pid != os.getpid():
            raise BadArgument(
                f"Service {name} is not hosted by the emulator daemon (pid {os.getpid()}). "
                "[emulator] Deploy it again with overwrite=True."
            )
        return state, record

    def _workspace(self, workspace_id: object) -> WorkspaceState:
        if not isinstance(workspace_id, int) or isinstance(workspace_id, bool):
            raise BadArgument("The request names no workspace: give its id as an integer.")
        state = workspace_states(self.root).by_id(workspace_id)
        if state is None:
            raise NotFound(f"No workspace with id {workspace_id} in {self.root.path}.")
        return state


def daemon_services(root: EmulatorRoot, pid: int) -> list[tuple[WorkspaceState, ServiceRecord]]:
    """The v1 services the daemon ``pid`` hosts, with their workspaces (``amlemu status``)."""
    return [
        (state, record)
        for state in workspace_states(root).all()
        for record in state.services.records()
        if record.owner_pid == pid and stored_arguments(record) is not None
    ]


def _answer(record: ServiceRecord) -> dict[str, Any]:
    return {"name": record.name, "state": record.state.value}


def _arguments(request: Mapping[str, Any]) -> dict[str, Any]:
    arguments = request.get("configuration")
    if not isinstance(arguments, dict):
        raise BadArgument("The deployment configuration must be a JSON object of arguments.")
    return arguments


def _image(state: WorkspaceState, image_id: object) -> ImageRecord:
    name, _, version = str(image_id or "").rpartition(":")
    image = state.images.get(name, int(version)) if name and version.isdigit() else None
    if image is None:
        raise NotFound(
            f"Image {image_id} not found in workspace {state.record.name}. [emulator] It was "
            "deleted; deploy the service again."
        )
    return image


def _host_ended(record: ServiceRecord) -> bool:
    """Whether ``record`` was serving when its host (a daemon) ended: stopped with it, or still
    marked live by a host that died (reads reconcile that to ``ServiceHostExited``)."""
    if record.owner_pid == os.getpid():
        return False
    if record.state in _LIVE:
        return True
    return record.state is ServiceState.FAILED and (record.error or {}).get("code") in HOST_ENDED


def _port_of(uri: str | None) -> int:
    try:
        return (urlsplit(uri).port or 0) if uri else 0
    except ValueError:
        return 0
