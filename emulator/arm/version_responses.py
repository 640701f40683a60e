"""Handlers of the ARM face for environments and code: versioned assets stored as the client's
specification (:mod:`emulator.assets.versions`).

An environment without a version makes ``azure-ai-ml`` read the container (``latestVersion``,
``nextVersion``), put the latest version again and, on 409, the next one: an unchanged
environment keeps its version, a changed one gets a new one, as in Azure. Code uploads
(deployments' ``code_configuration``) ask ``startPendingUpload`` for a blob location; it is in
the default datastore's container, served by the emulator's blob plane.

Environments are archived and restored as Azure does (:mod:`emulator.assets.archive`; the
client PUTs the version, or the container for a whole name, back with ``isArchived``); lists
take ``listViewType`` (ActiveOnly by default, as in Azure), so ``label="latest"`` — a version
list with ``$orderBy=createdtime desc&$top=1`` — is the newest version that is not archived.
"""

from __future__ import annotations

import uuid
from typing import Any

from emulator.arm.asset_responses import (
    BadRequest,
    archived_view,
    blob_container,
    container_archived,
    storage_account,
)
from emulator.arm.exceptions import PROVIDER, ResourceNotFound
from emulator.arm.responses import WorkspaceRequest, top_of
from emulator.assets.archive import ArchivedAssets
from emulator.assets.versions import AssetVersion, AssetVersions, Kind
from emulator.state import WorkspaceState

_SINGULAR = {"environments": "environment", "codes": "code"}


def _kind(kind: str) -> Kind:
    return "environments" if kind.casefold() == "environments" else "codes"


def _store(state: WorkspaceState, kind: Kind) -> AssetVersions:
    return AssetVersions(state.root, state.id, kind)


def _archive(state: WorkspaceState) -> ArchivedAssets:
    return ArchivedAssets(state.root, state.id, "environments")


#: What the service fills in on an environment and the client sends back on an archive or
#: restore PUT (which leaves out None values): stored filled in, so that round trip compares
#: equal to the definition and is not a changed (409) one.
_ENVIRONMENT_DEFAULTS: dict[str, Any] = {
    "tags": {},
    "properties": {},
    "isAnonymous": False,
    "osType": "Linux",
}
#: Read-only properties the service answers with; never part of a definition.
_READ_ONLY = frozenset({"provisioningState", "environmentType"})


def _environment_definition(properties: dict[str, Any]) -> dict[str, Any]:
    """An environment's ``properties`` as stored: without None values and read-only
    properties, with the service's defaults filled in."""
    spec = {k: v for k, v in properties.items() if v is not None and k not in _READ_ONLY}
    for key, value in _ENVIRONMENT_DEFAULTS.items():
        spec.setdefault(key, value)
    return spec


def workspace_arm_id(state: WorkspaceState) -> str:
    """The workspace's ARM id, the prefix of its assets' ids (as stored: its own casing)."""
    r = state.record
    return (
        f"/subscriptions/{r.subscription_id}/resourceGroups/{r.resource_group}/providers/"
        f"{PROVIDER}/workspaces/{r.name}"
    )


def _version_body(
    state: WorkspaceState, asset: AssetVersion, archived: bool | None = None
) -> dict[str, Any]:
    properties = dict(asset.spec)
    if asset.kind == "environments":
        if archived is None:
            archived = _archive(state).is_archived(asset.name, asset.version)
        properties["isArchived"] = archived
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
    archived = store.kind == "environments" and _archive(state).container_archived(name)
    return _container_body(state, store, versions, archived)


def _container_body(
    state: WorkspaceState, store: AssetVersions, versions: list[AssetVersion], archived: bool
) -> dict[str, Any]:
    """A name's container from its ``versions`` (newest first)."""
    name = versions[0].name
    return {
        "id": f"{workspace_arm_id(state)}/{store.kind}/{name}",
        "name": name,
        "type": f"{PROVIDER}/workspaces/{store.kind}",
        "systemData": {
            "createdAt": versions[-1].created_time,
            "lastModifiedAt": versions[0].created_time,
        },
        "properties": {
            "latestVersion": versions[0].version,
            "nextVersion": store.next_version(name),
            "isArchived": archived,
            "tags": {},
            "properties": {},
            "provisioningState": "Succeeded",
        },
    }


def list_environments(req: WorkspaceRequest) -> Any:
    """The workspace's environment names, the most recently created version's first
    (``listViewType``: an archived name shows in ArchivedOnly and All only)."""
    state = req.state
    view = archived_view(req.request)
    store = _store(state, "environments")
    archived = _archive(state).archived_containers()
    by_name: dict[str, list[AssetVersion]] = {}
    for version in store.versions():  # newest first
        by_name.setdefault(version.name, []).append(version)
    return {
        "value": [
            _container_body(state, store, versions, name in archived)
            for name, versions in by_name.items()
            if view is None or (name in archived) == view
        ]
    }


def put_container(req: WorkspaceRequest, kind: str, name: str) -> Any:
    """Archive or restore an environment name and every version of it
    (``environments.archive(name)``)."""
    state = req.state
    if _kind(kind) != "environments":
        raise BadRequest(
            "Code containers cannot be changed. [emulator] Code is created by the deployments "
            "and jobs that use it; only environments, models and data are archived."
        )
    archived = container_archived(req.request, "environment", "environments")
    store = _store(state, "environments")
    versions = store.versions(name)
    if not versions:
        raise not_found(req.resource_group, req.workspace, kind, name)
    _archive(state).set_container(name, [v.version for v in versions], archived)
    return _container_body(state, store, versions, archived)


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
        return {"value": [_version_body(state, v) for v in versions]}
    if store.kind == "codes":
        return {"value": [_version_body(state, v) for v in store.versions(name)]}
    view = archived_view(req.request)
    archived = _archive(state).versions(name)
    versions = [v for v in store.versions(name) if view is None or (v.version in archived) == view]
    return {
        "value": [
            _version_body(state, v, v.version in archived) for v in top_of(versions, req.request)
        ]
    }


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
    store = _store(state, _kind(kind))
    if store.kind == "codes":
        spec = {k: v for k, v in body["properties"].items() if k != "provisioningState"}
        return _version_body(state, store.put(name, version, spec))
    spec = _environment_definition(body["properties"])
    archived = spec.pop("isArchived", None)
    new = store.get(name, version) is None
    # ``mutable``: a definition stored before the flag moved to the archive may still carry it
    stored = store.put(name, version, spec, mutable=("isArchived",))
    archive = _archive(state)
    if new:  # a version created under an archived name is archived, as in Azure
        archive.created(name, version)
    if isinstance(archived, bool) and (archived or not new):
        archive.set_version(name, version, archived)
    return _version_body(state, stored)


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
