"""Handlers of the ARM face for model names (containers) and what is archived of models, over
the workspace's :class:`~emulator.models.registry.ModelRegistry` (shared with SDK v1) and
:class:`~emulator.assets.archive.ArchivedAssets`.

What azure-ai-ml 1.35.2 sends (measured by the emulator's request log, api-version
2023-08-01-preview): ``models.list()`` GETs ``{ws}/models?listViewType=ActiveOnly|ArchivedOnly|
All``; ``models.create_or_update`` without a version GETs the container for its
``nextVersion`` (404: version 1); ``models.archive(name)``/``restore(name)`` GET the container
and PUT it back with ``isArchived``; with a version they GET and PUT the version
(:mod:`emulator.arm.asset_responses`). ``get(name, label="latest")`` lists the versions with
``$orderBy=createdtime desc&$top=1`` and no ``listViewType``: Azure's default view, ActiveOnly,
so the newest version that is not archived.
"""

from __future__ import annotations

from typing import Any

from emulator.arm.asset_responses import (
    archived_view,
    container_archived,
    model_archive,
)
from emulator.arm.exceptions import PROVIDER
from emulator.arm.responses import WorkspaceRequest
from emulator.arm.version_responses import not_found, workspace_arm_id
from emulator.models.records import ModelRecord
from emulator.models.registry import latest_per_name
from emulator.state import WorkspaceState


def _container_body(
    state: WorkspaceState, latest: ModelRecord, first: ModelRecord, archived: bool
) -> dict[str, Any]:
    return {
        "id": f"{workspace_arm_id(state)}/models/{latest.name}",
        "name": latest.name,
        "type": f"{PROVIDER}/workspaces/models",
        "systemData": {"createdAt": first.created_time, "lastModifiedAt": latest.created_time},
        "properties": {
            "description": None,
            "tags": {},
            "properties": {},
            "isArchived": archived,
            "latestVersion": str(latest.version),
            "nextVersion": str(latest.version + 1),
            "provisioningState": "Succeeded",
        },
    }


def _container(state: WorkspaceState, name: str) -> dict[str, Any] | None:
    records = state.models.records(name)  # newest first
    if not records:
        return None
    archived = model_archive(state).container_archived(name)
    return _container_body(state, records[0], records[-1], archived)


def list_models(req: WorkspaceRequest) -> Any:
    """The workspace's model names, most recently registered first (``listViewType``: an
    archived name shows in ArchivedOnly and All only)."""
    state = req.state
    view = archived_view(req.request)
    archived = model_archive(state).archived_containers()
    records = state.models.records()
    latest = sorted(latest_per_name(records), key=lambda r: r.created_time, reverse=True)
    first = {r.name: r for r in records}  # newest first per name: the last seen is the first
    return {
        "value": [
            _container_body(state, r, first[r.name], r.name in archived)
            for r in latest
            if view is None or (r.name in archived) == view
        ]
    }


def get_model_container(req: WorkspaceRequest, name: str) -> Any:
    """A model name: its latest and next versions (404 before its first version)."""
    body = _container(req.state, name)
    if body is None:
        raise not_found(req.resource_group, req.workspace, "models", name)
    return body


def put_model_container(req: WorkspaceRequest, name: str) -> Any:
    """Archive or restore a model name and every version of it (``models.archive(name)``)."""
    state = req.state
    archived = container_archived(req.request, "model", "models", verb="registering")
    records = state.models.records(name)
    if not records:
        raise not_found(req.resource_group, req.workspace, "models", name)
    model_archive(state).set_container(name, [str(r.version) for r in records], archived)
    found = _container(state, name)
    assert found is not None
    return found
