"""Handlers of the ARM face for components: ``ml_client.components.create_or_update``, ``get``
and ``list`` (containers and versions), over :mod:`emulator.assets.components`.

azure-ai-ml 1.35.2 PUTs ``components/<name>/versions/<version>`` (api-version
2024-01-01-preview) with ``{"properties": {"componentSpec": {...}, "isAnonymous", "properties",
"tags"}}`` once its code and environment are uploaded; a component without a version reads the
container's ``nextVersion`` first. A pipeline component's steps are anonymous components PUT
first (``azureml_anonymous/versions/<hash>``). It reads back ``id``, ``systemData`` and
``properties.componentSpec`` (``Component._from_rest_object``). Measured by running the real
client against this face (see /work/shared/research/sdk-v2-wire.md, "Batch: pipeline
component deployments").
"""

from __future__ import annotations

from typing import Any

from emulator.arm.asset_responses import BadRequest
from emulator.arm.exceptions import PROVIDER
from emulator.arm.responses import WorkspaceRequest
from emulator.arm.version_responses import not_found, workspace_arm_id
from emulator.assets.components import Component, Components
from emulator.exceptions import NotFound
from emulator.state import WorkspaceState


def version_body(state: WorkspaceState, component: Component) -> dict[str, Any]:
    """A component version as ARM returns it."""
    document = component.document
    return {
        "id": f"{workspace_arm_id(state)}/components/{component.name}/versions/{component.version}",
        "name": component.version,
        "type": f"{PROVIDER}/workspaces/components/versions",
        "systemData": {
            "createdAt": component.created_time,
            "lastModifiedAt": component.created_time,
        },
        "properties": {
            "componentSpec": component.spec,
            "description": document.get("description"),
            "tags": document.get("tags") or {},
            "properties": document.get("properties") or {},
            "isAnonymous": component.anonymous,
            "isArchived": bool(document.get("isArchived")),
            "provisioningState": "Succeeded",
        },
    }


def _container_body(state: WorkspaceState, store: Components, name: str) -> dict[str, Any]:
    latest = store.get(name)
    return {
        "id": f"{workspace_arm_id(state)}/components/{name}",
        "name": name,
        "type": f"{PROVIDER}/workspaces/components",
        "systemData": {"createdAt": latest.created_time, "lastModifiedAt": latest.created_time},
        "properties": {
            "latestVersion": latest.version,
            "nextVersion": store.next_version(name),
            "description": latest.document.get("description"),
            "tags": {},
            "properties": {},
            "isArchived": False,
            "provisioningState": "Succeeded",
        },
    }


def list_containers(req: WorkspaceRequest) -> Any:
    """``components.list()``: the workspace's named components, one page."""
    state = req.state
    store = Components(req.root, state.id)
    return {"value": [_container_body(state, store, name) for name in store.names()]}


def get_container(req: WorkspaceRequest, name: str) -> Any:
    """A component's container (its latest and next versions); ARM's 404 before its first."""
    state = req.state
    store = Components(req.root, state.id)
    if not store.versions(name):
        raise not_found(req.resource_group, req.workspace, "components", name)
    return _container_body(state, store, name)


def list_versions(req: WorkspaceRequest, name: str) -> Any:
    """``components.list(name)``: its versions, newest first."""
    state = req.state
    versions = Components(req.root, state.id).versions(name)
    return {"value": [version_body(state, c) for c in versions]}


def get_version(req: WorkspaceRequest, name: str, version: str) -> Any:
    """``components.get(name, version)``; ARM's 404 for a version not there."""
    state = req.state
    try:
        component = Components(req.root, state.id).get(name, version)
    except NotFound:
        raise not_found(
            req.resource_group, req.workspace, "components", name, "versions", version
        ) from None
    return version_body(state, component)


def put_version(req: WorkspaceRequest, name: str, version: str) -> Any:
    """Create a component version (the same definition again returns it; another is a 409)."""
    state = req.state
    body = req.request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
        raise BadRequest("The component version body must be a JSON object with 'properties'.")
    document = {k: v for k, v in body["properties"].items() if k != "provisioningState"}
    return version_body(state, Components(req.root, state.id).put(name, version, document))
