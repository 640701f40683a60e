"""A service's model data collection (``collect_model_data=True``): what its replicas get, and
where what they collected is.

Azure turns the deployment's ``dataCollection.storageEnabled`` into variables of an AKS
service's containers (``AML_MODEL_DC_STORAGE_ENABLED``, the storage account's connection
string), which the scoring script's ``ModelDataCollector`` (:mod:`emulator.server.monitoring`)
reads; the collector's docstring says it works in AKS deployments only, so an ACI service's
flag is recorded and collects nothing. The emulator adds the folder standing for the
workspace's ``modeldata`` blob container, the workspace's names (Azure's collector reads them
from the container's ``model_config_map.json``) and the service's name. ``amlemu describe``,
``amlemu ls --data`` and the portal's service page list a service's files from that folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emulator.assets.datastore import storage_account
from emulator.server import model_data
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceRecord, WorkspaceStore


def data_dir(root: EmulatorRoot, workspace: WorkspaceRecord) -> Path:
    """The folder standing for the workspace's ``modeldata`` container."""
    return WorkspaceStore(root).directory(workspace) / model_data.CONTAINER


def workspace_triple(workspace: WorkspaceRecord) -> str:
    return model_data.workspace_triple(
        workspace.subscription_id, workspace.resource_group, workspace.name
    )


def collects(compute_type: str, settings: Mapping[str, Any]) -> bool:
    """Whether a service with these settings collects model data (AKS with the switch on)."""
    switch = settings.get("dataCollection") or {}
    return compute_type == "AKS" and bool(switch.get("storageEnabled"))


def replica_environment(
    root: EmulatorRoot,
    workspace_id: int,
    service: str,
    compute_type: str,
    settings: Mapping[str, Any],
) -> dict[str, str]:
    """The variables every replica of ``service`` gets: its name, and the collector's switch
    and destination when it collects model data."""
    environment = {model_data.SERVICE: service}
    workspace = WorkspaceStore(root).by_id(workspace_id)
    if workspace is None or not collects(compute_type, settings):
        return environment
    account = storage_account(workspace)
    return {
        **environment,
        model_data.STORAGE_ENABLED: "true",
        model_data.STORAGE: (
            f"DefaultEndpointsProtocol=https;AccountName={account};EndpointSuffix=core.windows.net"
        ),
        model_data.DATA_DIR: str(data_dir(root, workspace)),
        model_data.WORKSPACE: workspace_triple(workspace),
    }


def service_folder(root: EmulatorRoot, workspace: WorkspaceRecord, service: str) -> Path:
    """Where ``service``'s collected data is (it may not exist yet)."""
    return model_data.service_folder(
        data_dir(root, workspace), workspace_triple(workspace), service
    )


def collected_files(root: EmulatorRoot, workspace: WorkspaceRecord, service: str) -> list[Path]:
    """The CSV files collected for ``service``, in path order."""
    return model_data.collected_files(
        data_dir(root, workspace), workspace_triple(workspace), service
    )
