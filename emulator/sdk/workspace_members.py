"""``Workspace.list``, ``get_mlflow_tracking_uri``, the default compute target lookup and the
members that need Azure: a mixin of :class:`emulator.sdk.workspace.Workspace` (signatures of
azureml-core 1.61).

``list`` answers from the emulator root's workspaces (Azure: those the credentials can read),
keyed by name, each name to the list of workspaces so named. ``get_mlflow_tracking_uri`` gives a
``file:`` URI to the workspace's own ``mlruns`` folder: MLflow's file store records runs there
offline, where Azure gives the workspace's ``azureml://`` tracking server (which needs
``azureml-mlflow`` and the cloud).

Members that manage what only Azure has (runs and experiments, key vaults, connections, linked
services, private endpoints, the workspace's own Azure resources) are ``@not_emulated``: they
raise the SDK's ``UserErrorException`` with the reason.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from emulator.sdk.amlcompute_config import (
    DEFAULT_CPU_CLUSTER_CONFIGURATION,
    DEFAULT_GPU_CLUSTER_CONFIGURATION,
)
from emulator.sdk.not_emulated import not_emulated
from emulator.state import WorkspaceState, workspace_states

if TYPE_CHECKING:
    from emulator.sdk.compute import ComputeTarget
    from emulator.sdk.workspace import Workspace

logger = logging.getLogger("emulator.workspace")

_TRAINING = "runs and experiments are training, which the emulator does not run"
_RESOURCES = "an emulated workspace has no Azure resources (storage, key vault, registry) to "
_NETWORK = "private endpoints and connections are Azure networking; the emulator is loopback only"


class WorkspaceMembers:
    """What ``Workspace`` adds beyond lookup and its registries."""

    _state: WorkspaceState

    DEFAULT_CPU_CLUSTER_NAME = "cpu-cluster"
    DEFAULT_GPU_CLUSTER_NAME = "gpu-cluster"
    DEFAULT_CPU_CLUSTER_CONFIGURATION = DEFAULT_CPU_CLUSTER_CONFIGURATION
    DEFAULT_GPU_CLUSTER_CONFIGURATION = DEFAULT_GPU_CLUSTER_CONFIGURATION

    @staticmethod
    def list(
        subscription_id: str | None,
        auth: object = None,
        resource_group: str | None = None,
    ) -> dict[str, list[Workspace]]:
        """Name -> the workspaces so named, in ``subscription_id`` (``None``: every
        subscription) and ``resource_group`` (``None``: every one)."""
        from emulator.sdk.workspace import workspace_of

        found: dict[str, list[Workspace]] = {}
        for state in workspace_states().all():
            record = state.record
            if subscription_id and record.subscription_id != subscription_id:
                continue
            if resource_group and record.resource_group.lower() != resource_group.lower():
                continue
            found.setdefault(record.name, []).append(workspace_of(state))
        return found

    def get_mlflow_tracking_uri(self, _with_auth: bool = False) -> str:
        """The tracking URI to give ``mlflow.set_tracking_uri``: the workspace's ``mlruns``
        folder (created on first use)."""
        folder = self._state.directory / "mlruns"
        folder.mkdir(parents=True, exist_ok=True)
        return folder.resolve().as_uri()

    @property
    def discovery_url(self) -> str:
        """The workspace's service discovery URL, as Azure forms it for its region."""
        return f"https://{self._state.record.location}.api.azureml.ms/discovery"

    def get_default_compute_target(self, type: str) -> ComputeTarget | None:
        """The compute target named ``cpu-cluster`` or ``gpu-cluster`` (``type`` CPU/GPU),
        ``None`` when there is none; deprecated in the SDK, which warns as here."""
        logger.warning(
            "'get_default_compute_target' is deprecated and will be removed in a future release. "
            "Use compute_targets['name'] to retrieve an existing compute target instead."
        )
        if type.lower() == "cpu":
            wanted = self.DEFAULT_CPU_CLUSTER_NAME
        elif type.lower() == "gpu":
            wanted = self.DEFAULT_GPU_CLUSTER_NAME
        else:
            raise ValueError("Invalid compute type. Accepted values are CPU and GPU")
        targets: dict[str, ComputeTarget] = self.compute_targets  # type: ignore[attr-defined]
        return targets.get(wanted)

    # -- what only Azure has -----------------------------------------------------------------

    @property
    @not_emulated(_TRAINING)
    def experiments(self) -> Any: ...

    @not_emulated(_TRAINING)
    def get_run(self, run_id: str) -> Any: ...

    @property
    @not_emulated("linked services attach Synapse workspaces, which exist only in Azure")
    def linked_services(self) -> Any: ...

    @property
    @not_emulated(_NETWORK)
    def private_endpoints(self) -> Any: ...

    @not_emulated(_NETWORK)
    def add_private_endpoint(
        self,
        private_endpoint_config: Any,
        private_endpoint_auto_approval: bool = True,
        location: str | None = None,
        show_output: bool = True,
        tags: dict[str, str] | None = None,
    ) -> Any: ...

    @not_emulated(_NETWORK)
    def delete_private_endpoint_connection(self, private_endpoint_connection_name: str) -> None: ...

    @not_emulated(_NETWORK)
    def get_connection(self, name: str) -> Any: ...

    @not_emulated(_NETWORK)
    def list_connections(self, category: str | None = None, target: str | None = None) -> Any: ...

    @not_emulated(_NETWORK)
    def set_connection(
        self,
        name: str,
        category: str,
        target: str,
        authType: str,  # the SDK's parameter name
        value: str,
    ) -> Any: ...

    @not_emulated(_NETWORK)
    def delete_connection(self, name: str) -> None: ...

    @not_emulated(_RESOURCES + "diagnose")
    def diagnose_workspace(self, diagnose_parameters: Any) -> Any: ...

    @not_emulated(_RESOURCES + "hold secrets; keep them in environment variables")
    def get_default_keyvault(self) -> Any: ...

    @not_emulated(_RESOURCES + "replace")
    def update_dependencies(self, container_registry: Any = None, force: bool = False) -> None: ...

    @not_emulated(_RESOURCES + "list keys of; datastores need none offline")
    def list_keys(self) -> Any: ...

    @not_emulated(_RESOURCES + "re-sync keys of; nothing rotates offline")
    def sync_keys(self, no_wait: bool = False) -> None: ...

    @property
    @not_emulated("it is the SDK's client to Azure's REST services; the emulator has none")
    def service_context(self) -> Any: ...

    @not_emulated(
        "deleting a workspace is not emulated; remove the emulator root "
        "(AZUREML_EMULATOR_ROOT) to start from nothing"
    )
    def delete(self, delete_dependent_resources: bool = False, no_wait: bool = False) -> None: ...

    @not_emulated(
        "updating a workspace's settings is not emulated; its name, location and tags are "
        "fixed at Workspace.create"
    )
    def update(
        self,
        friendly_name: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        image_build_compute: str | None = None,
        service_managed_resources_settings: Any = None,
        primary_user_assigned_identity: str | None = None,
        allow_public_access_when_behind_vnet: bool | None = None,
        v1_legacy_mode: bool | None = None,
    ) -> None: ...

    @staticmethod
    @not_emulated("it is the SDK's deprecated interactive setup; use Workspace.create or get")
    def setup() -> Any: ...
