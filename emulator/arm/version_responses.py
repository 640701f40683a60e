"""Handlers of the ARM face for environments and code: versioned assets stored as the client's
specification (:mod:`emulator.assets.versions`).

An environment without a version makes ``azure-ai-ml`` read the container (``latestVersion``,
``nextVersion``), put the latest version again and, on 409, the next one: an unchanged
environment keeps its version, a changed one gets a new one, as in Azure. Code uploads
(deployments' ``code_configuration``) ask ``startPendingUpload`` for a blob location; it is in
the default datastore's container, served by the emulator's blob plane.
"""

from __future__ import annotations

import uuid
from typing import Any

from emulator.arm.asset_responses import BadRequest, blob_container, storage_account
from emulator.arm.exceptions import PROVIDER, ResourceNotFound
from emulator.arm.responses import WorkspaceRequest
from emulator.assets.versions import AssetVersion, AssetVersions, Kind
from emulator.state import WorkspaceState

_SINGULAR = {"environments": "environment", "codes": "code"}


def _kind(kind: str) -> Kind:
    return "environments" if kind.casefold() == "environments" else "codes"


def _store(state: WorkspaceState, kind: Kind) -> AssetVersions:
    return AssetVersions(state.root, state.id, kind)


def workspace_arm_id(state: WorkspaceState) -> str:
    """The workspace's ARM id, the prefix of its assets' ids (as stored: its own casing)."""
    r = state.record
    return (
        f"/subscriptions/{r.subscription_id}/resourceGroups/{r.resource_group}/providers/"
        f"{PROVIDER}/workspaces/{r.name}"
    )


def _version_body(state: WorkspaceState, asset: AssetVersion) -> dict[str, Any]:
    properties = dict(asset.spec)
    properties.setdefault("tags", {})
    properties.setdefault("properties", {})
    properties.setdefault("isAnonymous", False)
    properties.setdefault("isArchived", False)
    properties["provisioningState"] = "Succeeded"
    if asset.kind == "environments":
        properties.setdefault("environmentType", "UserCreated")
        properties.setdefault("osType", "Linux")
    return {
        "id": f"{workspace_arm_id(state)}/{asset.kind}/{asset.name}/versions/{asset.version}",
        "name": asset.version,
        "type": f"{PROVIDER}/workspaces/{asset.kind}/versions",
        "systemData": {"createdAt": asset.created_time, "lastModifiedAt": asset.created_time},
        "properties": properties,
    }


def _content_hash(asset: AssetVersion) -> str | None:
    """The SHA-256 content hash the client recorded in a code version's properties."""
    properties = asset.spec.get("properties")
    return properties.get("hash_sha256") if isinstance(properties, dict) else None


def not_found(rg: str, ws: str, *path: str) -> ResourceNotFound:
    """ARM's 404 for the workspace resource ``path`` (``environments/env/versions/1``)."""
    return ResourceNotFound(
        f"The Resource '{PROVIDER}/workspaces/{ws}/{'/'.join(path)}' under resource group "
        f"'{rg}' was not found."
    )


def get_container(req: WorkspaceRequest, kind: str, name: str) -> Any:
    """An asset's container: its latest and next versions (404 before its first version)."""
    state = req.state
    store = _store(state, _kind(kind))
    versions = store.versions(name)
    if not versions:
        raise not_found(req.resource_group, req.workspace, kind, name)
    return {
        "id": f"{workspace_arm_id(state)}/{store.kind}/{name}",
        "name": name,
        "type": f"{PROVIDER}/workspaces/{store.kind}",
        "properties": {
            "latestVersion": versions[0].version,
            "nextVersion": store.next_version(name),
            "isArchived": False,
            "tags": {},
            "properties": {},
        },
    }


def list_versions(req: WorkspaceRequest, kind: str, name: str) -> Any:
    """The versions of an asset, newest first.

    With ``hash`` (a code upload asks before uploading), the code versions of ANY name whose
    content has that hash: anonymous code gets a random name each time, and the client reuses
    the version found instead of uploading the same files again.
    """
    state = req.state
    wanted = req.request.args.get("hash")
    store = _store(state, _kind(kind))
    if wanted:
        versions = [v for v in store.versions() if _content_hash(v) == wanted]
    else:
        versions = store.versions(name)
    return {"value": [_version_body(state, v) for v in versions]}


def get_version(req: WorkspaceRequest, kind: str, name: str, version: str) -> Any:
    """One version."""
    state = req.state
    asset = _store(state, _kind(kind)).get(name, version)
    if asset is None:
        raise not_found(req.resource_group, req.workspace, kind, name, "versions", version)
    return _version_body(state, asset)


def put_version(req: WorkspaceRequest, kind: str, name: str, version: str) -> Any:
    """Create a version (the same definition again returns it; a different one is a 409)."""
    state = req.state
    body = req.request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
        raise BadRequest(
            f"The {_SINGULAR[_kind(kind)]} version body must be a JSON object with 'properties'."
        )
    spec = {k: v for k, v in body["properties"].items() if k != "provisioningState"}
    return _version_body(state, _store(state, _kind(kind)).put(name, version, spec))


def start_pending_upload(req: WorkspaceRequest, name: str, version: str) -> Any:
    """Where a code upload goes: a fresh folder of the default datastore's container."""
    state = req.state
    upload_id = str(uuid.uuid4())
    account = storage_account(state)
    host = req.ctx.base_url.removeprefix("https://")
    container_url = f"https://{host}/{account}.blob.core.windows.net/{blob_container(state)}"
    blob_uri = f"{container_url}/{upload_id}"
    return {
        "blobReferenceForConsumption": {
            "blobUri": blob_uri,
            "storageAccountArmId": f"/subscriptions/{req.subscription}/resourceGroups/"
            f"{req.resource_group}/providers/Microsoft.Storage/storageAccounts/{account}",
            "credential": {"credentialType": "SAS", "sasUri": f"{blob_uri}?sv=2025-01-05&sig=x"},
        },
        "pendingUploadId": upload_id,
        "pendingUploadType": "TemporaryBlobReference",
    }
