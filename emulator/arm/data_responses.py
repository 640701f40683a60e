"""Handlers of the ARM face for data assets (``ml_client.data``), over
:class:`~emulator.assets.data.DataAssets`.

What the client sends (azure-ai-ml 1.35.2, measured by the emulator's request log): a local path
is uploaded first to the default datastore (``LocalUpload/<content hash>/<name>``, through the
blob plane, as for models) and the version PUT names it by ``dataUri``; a version left out makes
the client GET the container (404 → version 1, else its ``nextVersion``). ``get(label=
"latest")`` reads the container's ``latestVersion``; ``list()`` lists containers, ``list(name)``
versions; ``archive``/``restore`` PUT the version back with ``isArchived`` (without a version,
the container: every version of the name with it). All at api-version 2023-04-01-preview.
"""

from __future__ import annotations

from typing import Any

from emulator.arm.asset_responses import BadRequest, archived_view, container_archived
from emulator.arm.exceptions import PROVIDER
from emulator.arm.responses import WorkspaceRequest, top_of
from emulator.arm.version_responses import not_found, workspace_arm_id
from emulator.assets.data import DataAssets, DataContainer, DataVersion
from emulator.state import WorkspaceState


def _container_body(state: WorkspaceState, container: DataContainer) -> dict[str, Any]:
    return {
        "id": f"{workspace_arm_id(state)}/data/{container.name}",
        "name": container.name,
        "type": f"{PROVIDER}/workspaces/data",
        "systemData": {
            "createdAt": container.created_time,
            "lastModifiedAt": container.created_time,
        },
        "properties": {
            "dataType": container.data_type,
            "latestVersion": container.latest_version,
            "nextVersion": container.next_version,
            "isArchived": container.archived,
            "description": None,
            "tags": {},
            "properties": {},
        },
    }


def _version_body(state: WorkspaceState, data: DataVersion) -> dict[str, Any]:
    properties = dict(data.spec)
    properties.setdefault("description", None)
    properties.setdefault("tags", {})
    properties.setdefault("properties", {})
    properties.setdefault("isAnonymous", False)
    properties["isArchived"] = data.archived
    return {
        "id": f"{workspace_arm_id(state)}/data/{data.name}/versions/{data.version}",
        "name": data.version,
        "type": f"{PROVIDER}/workspaces/data/versions",
        "systemData": {"createdAt": data.created_time, "lastModifiedAt": data.created_time},
        "properties": properties,
    }


def list_data(req: WorkspaceRequest) -> Any:
    """The workspace's data names (containers), most recently created first."""
    state = req.state
    archived = archived_view(req.request)
    containers = DataAssets(state.root, state.id).containers()
    return {
        "value": [
            _container_body(state, c)
            for c in containers
            if archived is None or c.archived == archived
        ]
    }


def get_data_container(req: WorkspaceRequest, name: str) -> Any:
    """A data name: its type, latest and next versions (404 before its first version)."""
    state = req.state
    container = DataAssets(state.root, state.id).container(name)
    if container is None:
        raise not_found(req.resource_group, req.workspace, "data", name)
    return _container_body(state, container)


def put_data_container(req: WorkspaceRequest, name: str) -> Any:
    """Archive or restore every version of a data name (``data.archive(name)``)."""
    state = req.state
    archived = container_archived(req.request, "data", "data")
    container = DataAssets(state.root, state.id).archive_all(name, archived)
    if container is None:
        raise not_found(req.resource_group, req.workspace, "data", name)
    return _container_body(state, container)


def list_data_versions(req: WorkspaceRequest, name: str) -> Any:
    """The versions of ``name``, newest first (``listViewType`` and ``$top`` honoured)."""
    state = req.state
    archived = archived_view(req.request)
    versions = [
        v
        for v in DataAssets(state.root, state.id).versions(name)
        if archived is None or v.archived == archived
    ]
    return {"value": [_version_body(state, v) for v in top_of(versions, req.request)]}


def get_data_version(req: WorkspaceRequest, name: str, version: str) -> Any:
    """One version."""
    state = req.state
    data = DataAssets(state.root, state.id).get(name, version)
    if data is None:
        raise not_found(req.resource_group, req.workspace, "data", name, "versions", version)
    return _version_body(state, data)


def put_data_version(req: WorkspaceRequest, name: str, version: str) -> Any:
    """Create a version; the same definition again returns it; a changed description, tags or
    archived flag updates it; a changed data URI or type is Azure's 409."""
    state = req.state
    body = req.request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
        raise BadRequest("The data version body must be a JSON object with 'properties'.")
    spec = {k: v for k, v in body["properties"].items() if k != "provisioningState"}
    return _version_body(state, DataAssets(state.root, state.id).put(name, version, spec))
