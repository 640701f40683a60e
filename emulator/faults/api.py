"""The fault injection API for tests and scripts: ``service.faults``, ``workspace_faults`` and
``online_deployment_faults`` (SDK v2).

Every ``inject`` returns a :class:`FaultHandle`; use it as a context manager to scope a fault
to a block, or call :meth:`FaultHandle.remove`. Faults are stored under the emulator root (see
:mod:`emulator.faults.store`), so one injected here, or by ``amlemu faults inject`` in another
shell, reaches the service in whichever process hosts it::

    with service.faults.status(503, share=0.5):
        ...  # half of the scoring requests get 503
    service.faults.kill().wait()  # one replica killed; it restarts as Azure's would
"""

from __future__ import annotations

import builtins
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from emulator.faults.model import (
    ACTION_KINDS,
    SERVICE_KINDS,
    WORKSPACE_KINDS,
    Fault,
    FaultError,
    FaultKind,
    FaultState,
    new_fault,
    parse_kind,
)
from emulator.faults.store import FaultStore
from emulator.settings import emulator_root
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceStore

_POLL_SECONDS = 0.02


class FaultHandle:
    """One injected fault: ``remove()`` it, ``wait()`` until it acted, or scope it with ``with``."""

    def __init__(self, store: FaultStore, fault: Fault) -> None:
        self._store = store
        self.id = fault.id
        self.kind = fault.kind
        self._last = fault

    @property
    def fault(self) -> Fault:
        """The fault as stored now (its last known state once removed)."""
        current = self._store.get(self.id)
        if current is not None:
            self._last = current
        return self._last

    @property
    def state(self) -> FaultState:
        return self.fault.state

    def remove(self) -> None:
        """Take the fault back (a paused replica resumes). Idempotent."""
        self._store.remove(self.id)

    def wait(self, timeout: float = 10.0) -> Fault:
        """Block until a replica action was applied or a counted fault used up; raises
        ``TimeoutError`` when that did not happen in ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            current = self._store.get(self.id)
            if current is None:
                raise FaultError(f"Fault {self.id} was removed before it acted.")
            self._last = current
            if current.state is FaultState.DONE:
                return current
            if time.monotonic() >= deadline:
                hint = (
                    "the process that deployed the service applies replica faults: is it "
                    "still running?"
                    if current.kind in ACTION_KINDS
                    else "it acts on the next attempt(s) only"
                )
                raise TimeoutError(
                    f"Fault {self.id} ({current.describe()}) is still {current.state} after "
                    f"{timeout:g} s; {hint}"
                )
            time.sleep(_POLL_SECONDS)

    def __enter__(self) -> FaultHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.remove()

    def __repr__(self) -> str:
        fault = self._last
        return f"FaultHandle({self.id!r}, {fault.kind}, {fault.state}: {fault.describe()})"


class _Faults:
    _kinds: frozenset[FaultKind]

    def __init__(self, store: FaultStore) -> None:
        self._store = store

    def inject(self, kind: FaultKind | str, **parameters: Any) -> FaultHandle:
        """Inject a fault of ``kind`` (see :class:`~emulator.faults.model.FaultKind`)."""
        parsed = parse_kind(kind)
        refusal = self._refusal(parsed)
        if refusal is not None:
            raise FaultError(refusal)
        fault = self._store.add(new_fault(parsed, time.time(), **parameters))
        return FaultHandle(self._store, fault)

    def _refusal(self, kind: FaultKind) -> str | None:
        """Why ``kind`` cannot be injected here (``None``: it can)."""
        if kind in self._kinds:
            return None
        where = "the workspace" if kind in WORKSPACE_KINDS else "a service"
        return f"A {kind} fault is injected into {where}, not here."

    def list(self) -> list[Fault]:
        """Every fault of the target, oldest first (done ones included until cleared)."""
        return list(self._store.faults())

    def remove(self, fault_id: str) -> Fault | None:
        return self._store.remove(fault_id)

    def clear(self) -> builtins.list[Fault]:
        """Remove every fault; returns what was there."""
        return self._store.clear()


class _ReplicaFaults(_Faults):
    """The faults of something with replicas behind a gateway: a v1 web service or an SDK v2
    online deployment."""

    def status(self, status: int, share: float = 1.0, seed: int = 0) -> FaultHandle:
        """The gateway answers ``status`` (e.g. 502, 503, 504, 429) instead of forwarding, for
        ``share`` of the scoring requests (chosen by a random generator seeded with ``seed``)."""
        return self.inject(FaultKind.STATUS, status=status, share=share, seed=seed)

    def latency(self, seconds: float, share: float = 1.0, seed: int = 0) -> FaultHandle:
        """``run()`` looks ``seconds`` slower: the gateway waits that long, holding the replica's
        slot, before forwarding (``scoring_timeout_ms`` still applies: 504)."""
        return self.inject(FaultKind.LATENCY, seconds=seconds, share=share, seed=seed)

    def drop(self, share: float = 1.0, seed: int = 0) -> FaultHandle:
        """The gateway closes the connection without answering."""
        return self.inject(FaultKind.DROP, share=share, seed=seed)

    def fail_init(self, times: int = 1) -> FaultHandle:
        """``init()`` raises on the next ``times`` replica starts (restarts, scale-ups, updates,
        or the deployment itself when injected before it)."""
        return self.inject(FaultKind.INIT_FAILURE, times=times)

    def kill(self, replica: int = 0) -> FaultHandle:
        """SIGKILL replica ``replica`` (its whole process tree, or ``docker kill``); the
        supervisor restarts it with Azure's back-off."""
        return self.inject(FaultKind.KILL, replica=replica)

    def pause(self, replica: int = 0) -> FaultHandle:
        """Freeze replica ``replica`` (SIGSTOP / ``docker pause``): its liveness probe fails and
        it is restarted; removing the fault earlier resumes it."""
        return self.inject(FaultKind.PAUSE, replica=replica)

    def exhaust_memory(self, replica: int = 0) -> FaultHandle:
        """End replica ``replica`` as the OOM killer would (SIGKILL, reported ``OOMKilled``)."""
        return self.inject(FaultKind.MEMORY, replica=replica)


class ServiceFaults(_ReplicaFaults):
    """Faults of one web service (``service.faults``)."""

    _kinds = SERVICE_KINDS

    def __init__(self, root: Path, workspace_id: int, service: str) -> None:
        super().__init__(FaultStore.for_service(root, workspace_id, service))
        self.service = service

    def expire_tokens(self, after_seconds: float = 0.0) -> FaultHandle:
        """Tokens older than ``after_seconds`` are refused as expired (401), as if their
        lifetime were that short."""
        return self.inject(FaultKind.TOKEN_EXPIRY, seconds=after_seconds)


class OnlineDeploymentFaults(_ReplicaFaults):
    """Faults of one SDK v2 online deployment: they act on its replicas and its gateway as a
    service's do, behind the endpoint's front end. So a :meth:`status` fault is what the
    deployment's replicas answer, which the endpoint turns into Azure's answer (a 5xx into 424,
    the status in ``ms-azureml-model-error-statuscode``); the endpoint's own 408 and 503 come
    from :meth:`latency` past ``request_timeout_ms`` and from replicas killed or paused."""

    _kinds = SERVICE_KINDS - {FaultKind.TOKEN_EXPIRY}

    def __init__(self, root: Path, workspace_id: int, endpoint: str, deployment: str) -> None:
        super().__init__(FaultStore.for_online_deployment(root, workspace_id, endpoint, deployment))
        self.endpoint = endpoint
        self.deployment = deployment

    def _refusal(self, kind: FaultKind) -> str | None:
        if kind is FaultKind.TOKEN_EXPIRY:
            return (
                "A token-expiry fault acts on a v1 service's own tokens; an online endpoint's "
                "credentials are checked by the endpoint, before any deployment. [emulator] "
                "Regenerate the endpoint's keys (online_endpoints.begin_regenerate_keys) to "
                "test a refused credential."
            )
        return super()._refusal(kind)


class WorkspaceFaults(_Faults):
    """Faults of a workspace's image builds and AKS cluster provisioning."""

    _kinds = WORKSPACE_KINDS

    def __init__(self, root: Path, workspace_id: int) -> None:
        super().__init__(FaultStore.for_workspace(root, workspace_id))

    def fail_image_build(self, times: int = 1) -> FaultHandle:
        """The next ``times`` image builds (``Image.create``, ``Model.package``,
        ``Model.deploy``) fail."""
        return self.inject(FaultKind.IMAGE_BUILD, times=times)

    def fail_provisioning(self, times: int = 1) -> FaultHandle:
        """The next ``times`` AKS cluster creations end ``Failed``."""
        return self.inject(FaultKind.PROVISIONING, times=times)


def service_faults(workspace: Any, name: str) -> ServiceFaults:
    """The faults of service ``name`` of an SDK ``Workspace``, deployed or not yet (a fault
    injected before the deployment acts on it: ``fail_init`` fails its first start)."""
    state = workspace.emulator_state
    return ServiceFaults(state.root.path, state.id, name)


def online_deployment_faults(
    workspace: Any, endpoint: str, deployment: str, *, root: Path | str | None = None
) -> OnlineDeploymentFaults:
    """The faults of deployment ``deployment`` of online endpoint ``endpoint``, created or not
    yet (``fail_init`` injected first fails its creation). ``workspace`` is an ``MLClient`` (its
    subscription, resource group and workspace, under ``root``: by default the emulator root
    of this process, ``AZUREML_EMULATOR_ROOT``) or an SDK v1 ``Workspace``."""
    state = getattr(workspace, "emulator_state", None)
    if state is not None:
        return OnlineDeploymentFaults(state.root.path, state.id, endpoint, deployment)
    names = [
        str(getattr(workspace, attribute, "") or "")
        for attribute in ("subscription_id", "resource_group_name", "workspace_name")
    ]
    if not all(names):
        raise FaultError(
            f"online_deployment_faults needs an MLClient of a workspace or an SDK v1 Workspace, "
            f"not {type(workspace).__name__}. [emulator] Pass MLClient(credential, "
            "subscription_id, resource_group_name, workspace_name)."
        )
    subscription, resource_group, name = names
    base = Path(root) if root is not None else emulator_root()
    record = WorkspaceStore(EmulatorRoot(base)).find(subscription, resource_group, name)
    if record is None:
        raise FaultError(
            f"Workspace '{name}' (subscription {subscription}, resource group "
            f"{resource_group}) does not exist under the emulator root {base}. [emulator] "
            "Pass root= the root the emulator serves (amlemu status shows it)."
        )
    return OnlineDeploymentFaults(base, record.id, endpoint, deployment)


def workspace_faults(workspace: Any) -> WorkspaceFaults:
    """The build and provisioning faults of an SDK ``Workspace`` object."""
    state = workspace.emulator_state
    return WorkspaceFaults(state.root.path, state.id)
