"""Handlers of the ARM face for assets: the default datastore and model versions.

The default datastore ``workspaceblobstore`` is an Azure Blob datastore whose account the
emulator serves itself (``blob_responses``): its ``accountName`` is ``127.0.0.1:PORT/<account>``,
which ``azure-ai-ml`` turns into the path-style URL ``https://127.0.0.1:PORT/<account>.blob.
core.windows.net``. A model version PUT names its files by ``modelUri``
(``azureml://.../datastores/<ds>/paths/<path>``); they are read from the uploaded blobs and
registered in the workspace's :class:`~emulator.models.registry.ModelRegistry`, the same registry
SDK v1's ``Model`` uses, so either SDK sees the other's models.
"""

from __future__ import annotations

import base64
import hashlib
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Request

from emulator.arm.exceptions import PROVIDER, ArmError, ResourceNotFound
from emulator.arm.responses import ArmContext, WorkspaceRequest, top_of
from emulator.assets import datastore
from emulator.assets.archive import ArchivedAssets
from emulator.assets.blob_containers import BlobContainers
from emulator.assets.datastore import DEFAULT_DATASTORE
from emulator.exceptions import BadArgument
from emulator.models.records import CUSTOM_MODEL, V2_TYPE_PROPERTY, ModelRecord
from emulator.state import WorkspaceState

_DATASTORE_URI = re.compile(
    r"azureml://(?:.*/)?datastores/(?P<datastore>[^/]+)/paths/(?P<path>.+)", re.IGNORECASE
)


class BadRequest(ArmError):
    """ARM's 400 for a request body the service refuses."""

    status = 400
    code = "UserError"


class Conflict(ArmError):
    """ARM's 409: the resource exists and may not change."""

    status = 409
    code = "Conflict"


_VIEWS = {"activeonly": False, "archivedonly": True, "all": None}


def archived_view(request: Request) -> bool | None:
    """``listViewType`` as archived or not (None: both). ActiveOnly, Azure's default and the
    client's, hides archived assets."""
    view = request.args.get("listViewType", "ActiveOnly")
    if view.casefold() not in _VIEWS:
        raise BadRequest(
            f"The listViewType {view!r} is invalid: use ActiveOnly, ArchivedOnly or All."
        )
    return _VIEWS[view.casefold()]


def container_archived(
    request: Request, noun: str, collection: str, verb: str = "creating"
) -> bool:
    """The ``isArchived`` a container PUT asks for (``ml_client.<collection>.archive(name)`` /
    ``restore(name)``); a body without a boolean one is a 400 naming how names come to be."""
    body = request.get_json(silent=True)
    properties = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(properties, dict) or not isinstance(properties.get("isArchived"), bool):
        raise BadRequest(
            f"The {noun} container body must be a JSON object with 'properties' and a boolean "
            f"'isArchived'. [emulator] {noun.capitalize()} names are created by {verb} a version "
            f"(ml_client.{collection}.create_or_update); a name is archived or restored with "
            f"ml_client.{collection}.archive(name) / restore(name)."
        )
    archived: bool = properties["isArchived"]
    return archived


def storage_account(state: WorkspaceState) -> str:
    """The workspace's storage account name (lower-case alphanumerics, as Azure's)."""
    return datastore.storage_account(state.record)


def blob_container(state: WorkspaceState) -> str:
    """The default datastore's container: ``azureml-blobstore-<guid>`` as in Azure."""
    return datastore.blob_container(state.record)


def _arm_id(state: WorkspaceState, *parts: str) -> str:
    r = state.record
    return "/".join(
        (
            f"/subscriptions/{r.subscription_id}/resourceGroups/{r.resource_group}/providers/"
            f"{PROVIDER}/workspaces/{r.name}",
            *parts,
        )
    )


# -- datastores ----------------------------------------------------------------------------------


def _datastore_body(ctx: ArmContext, state: WorkspaceState) -> dict[str, Any]:
    host = ctx.base_url.removeprefix("https://")
    return {
        "id": _arm_id(state, "datastores", DEFAULT_DATASTORE),
        "name": DEFAULT_DATASTORE,
        "type": f"{PROVIDER}/workspaces/datastores",
        "properties": {
            "datastoreType": "AzureBlob",
            "accountName": f"{host}/{storage_account(state)}",
            "containerName": blob_container(state),
            "endpoint": "core.windows.net",
            "protocol": "https",
            "isDefault": True,
            "credentials": {"credentialsType": "AccountKey"},
            "serviceDataAccessAuthIdentity": "WorkspaceSystemAssignedIdentity",
            "description": None,
            "tags": {},
            "properties": {},
        },
    }


def _datastore(req: WorkspaceRequest, name: str) -> WorkspaceState:
    state = req.state
    if name.casefold() != DEFAULT_DATASTORE:
        raise ResourceNotFound(
            f"The Resource '{PROVIDER}/workspaces/{req.workspace}/datastores/{name}' under "
            f"resource group '{req.resource_group}' was not found. [emulator] Each workspace has "
            f"the default datastore '{DEFAULT_DATASTORE}' only; use it "
            "(ml_client.datastores.get_default())."
        )
    return state


def list_datastores(req: WorkspaceRequest) -> Any:
    """The workspace's datastores (``isDefault=true`` or not: the default is the only one)."""
    state = req.state
    return {"value": [_datastore_body(req.ctx, state)]}


def get_datastore(req: WorkspaceRequest, datastore: str) -> Any:
    """One datastore: ``workspaceblobstore``."""
    return _datastore_body(req.ctx, _datastore(req, datastore))


def list_datastore_secrets(req: WorkspaceRequest, datastore: str) -> Any:
    """The secret uploads sign with (any signature is accepted on loopback): a SAS token when
    the body asks for an expirable secret, as Azure answers (azure-ai-ml asks so since 1.18;
    before 1.31 it reads ``sas_token`` only and fails on an account key), else the account key."""
    state = _datastore(req, datastore)
    key = hashlib.sha256(f"{req.ctx.identity_secret}/{storage_account(state)}".encode()).digest()
    body = req.request.get_json(silent=True)
    if isinstance(body, dict) and body.get("expirableSecret") is True:
        signature = base64.b64encode(hashlib.sha256(key).digest()).decode()
        sas = f"sv=2021-08-06&sr=c&sp=racwdl&sig={quote(signature, safe='')}"
        return {"secretsType": "Sas", "sasToken": sas}
    return {"secretsType": "AccountKey", "key": base64.b64encode(key).decode()}


# -- models --------------------------------------------------------------------------------------


def model_archive(state: WorkspaceState) -> ArchivedAssets:
    """The workspace's archived model names and versions."""
    return ArchivedAssets(state.root, state.id, "models")


def _model_body(
    state: WorkspaceState, record: ModelRecord, archived: bool | None = None
) -> dict[str, Any]:
    """A model version as ARM returns it. Its files are published (linked, not copied) under
    ``azureml-models/<name>/<version>/`` of the default datastore, which ``modelUri`` names,
    so ``models.download`` works for models registered by either SDK."""
    blobs = BlobContainers(state.root)
    account, container = storage_account(state), blob_container(state)
    folder = f"azureml-models/{record.name}/{record.version}"
    for f in record.files:
        blobs.link(account, container, f"{folder}/{f.path}", f.digest, f.size)
    path = f"{folder}/{record.root_name}" + ("" if record.kind == "file" else "/")
    if archived is None:
        archived = model_archive(state).is_archived(record.name, str(record.version))
    return {
        "id": _arm_id(state, "models", record.name, "versions", str(record.version)),
        "name": str(record.version),
        "type": f"{PROVIDER}/workspaces/models/versions",
        "systemData": {
            "createdAt": record.created_time,
            "createdBy": record.created_by,
            "lastModifiedAt": record.created_time,
        },
        "properties": {
            "description": record.description,
            "tags": record.tags,
            "properties": {k: v for k, v in record.properties.items() if k != V2_TYPE_PROPERTY},
            "isAnonymous": False,
            "isArchived": archived,
            "modelType": record.v2_type,
            # Azure's long datastore URI (no providers/ segment: the SDK's LONG_URI_REGEX_FORMAT,
            # which local deployments of a registered model parse to download it)
            "modelUri": f"azureml://subscriptions/{state.record.subscription_id}/resourceGroups/"
            f"{state.record.resource_group}/workspaces/{state.record.name}/datastores/"
            f"{DEFAULT_DATASTORE}/paths/{path}",
            "flavors": {},
            "stage": "Development",
            "provisioningState": "Succeeded",
        },
    }


def _model_not_found(rg: str, ws: str, name: str, version: str) -> ResourceNotFound:
    return ResourceNotFound(
        f"The Resource '{PROVIDER}/workspaces/{ws}/models/{name}/versions/{version}' under "
        f"resource group '{rg}' was not found."
    )


def get_model_version(req: WorkspaceRequest, name: str, version: str) -> Any:
    """One model version (v1- and v2-registered alike)."""
    state = req.state
    record = state.models.get(name, int(version)) if version.isdigit() else None
    if record is None:
        raise _model_not_found(req.resource_group, req.workspace, name, version)
    return _model_body(state, record)


def list_model_versions(req: WorkspaceRequest, name: str) -> Any:
    """The versions of ``name``, newest first (``$top`` honoured: ``label="latest"`` asks for
    one). ``listViewType`` defaults to ActiveOnly as in Azure: archived versions are left out
    unless asked for, so the latest is the newest version that is not archived."""
    state = req.state
    view = archived_view(req.request)
    archived = model_archive(state).versions(name)
    records = [
        r
        for r in state.models.records(name)
        if view is None or (str(r.version) in archived) == view
    ]
    return {
        "value": [
            _model_body(state, r, str(r.version) in archived) for r in top_of(records, req.request)
        ]
    }


def put_model_version(req: WorkspaceRequest, name: str, version: str) -> Any:
    """Register the uploaded files as version ``version`` of ``name``.

    Versions are the registry's sequence, as in SDK v1: ``version`` must be the next one (an
    existing version is immutable: 409).
    """
    state = req.state
    body = req.request.get_json(silent=True) or {}
    props = body.get("properties") or {}
    existing = state.models.get(name, int(version)) if version.isdigit() else None
    uri = props.get("modelUri") or ""
    if existing is not None:
        if sorted(_uploaded_digests(state, uri)) == sorted(f.digest for f in existing.files):
            # An unchanged version answers as itself, as Azure does: a script run again PUTs
            # its anonymous model (named by its content's hash) as version 1 again. Its
            # archived flag may change (models.archive/restore PUT the version back).
            if isinstance(props.get("isArchived"), bool):
                model_archive(state).set_version(name, version, props["isArchived"])
            return _model_body(state, existing)
        raise Conflict(
            f"Model {name} version {version} already exists and versions are immutable. "
            "[emulator] Register a new version (leave version out, or give the next number)."
        )
    latest = state.models.get(name)
    expected = 1 if latest is None else latest.version + 1
    if version != str(expected):
        raise BadRequest(
            f"Model {name}: version {version!r} cannot be registered; the next version is "
            f"{expected}. [emulator] The emulator numbers versions 1, 2, 3... as SDK v1 does: "
            f"give version='{expected}' or leave version out."
        )
    with tempfile.TemporaryDirectory() as tmp:
        source = _fetch_files(req.ctx, state, uri, Path(tmp))
        try:
            properties = dict(props.get("properties") or {})
            properties.pop(V2_TYPE_PROPERTY, None)
            model_type = str(props.get("modelType") or CUSTOM_MODEL)
            if model_type != CUSTOM_MODEL:
                properties[V2_TYPE_PROPERTY] = model_type
            record = state.models.register(
                source,
                name,
                tags=props.get("tags") or {},
                properties=properties,
                description=props.get("description"),
            )
        except BadArgument as exc:
            raise BadRequest(str(exc)) from exc
    archive = model_archive(state)
    # a version registered under an archived name is archived, as in Azure
    archive.created(name, str(record.version))
    if props.get("isArchived") is True:
        archive.set_version(name, str(record.version), True)
    return _model_body(state, record)


def _uploaded_digests(state: WorkspaceState, uri: str) -> list[str]:
    """The content digests of the blobs ``uri`` names (none when it names none)."""
    found = _DATASTORE_URI.fullmatch(uri)
    if found is None or found["datastore"].casefold() != DEFAULT_DATASTORE:
        return []
    blobs = BlobContainers(state.root)
    account, container = storage_account(state), blob_container(state)
    path = found["path"].strip("/")
    single = blobs.get(account, container, path)
    if single is not None:
        return [single.digest]
    return [blob.digest for blob in blobs.list(account, container, path + "/")]


def _fetch_files(ctx: ArmContext, state: WorkspaceState, uri: str, into: Path) -> Path:
    """Copy the blobs ``uri`` names (a file or a folder prefix) under ``into``."""
    found = _DATASTORE_URI.fullmatch(uri)
    if found is None or found["datastore"].casefold() != DEFAULT_DATASTORE:
        raise BadRequest(
            f"The model path {uri!r} is not on the default datastore. [emulator] Register a "
            "local file or folder (Model(path='./model.pkl')): the client uploads it to "
            f"'{DEFAULT_DATASTORE}' first."
        )
    blobs = BlobContainers(state.root)
    account, container = storage_account(state), blob_container(state)
    path = found["path"].strip("/")
    single = blobs.get(account, container, path)
    if single is not None:
        target = into / path.rsplit("/", 1)[-1]
        blobs.content.materialize(single.digest, target)
        return target
    folder = into / path.rsplit("/", 1)[-1]
    members = blobs.list(account, container, path + "/")
    if not members:
        raise BadRequest(
            f"No uploaded file or folder at {uri!r}. [emulator] Upload it to the default "
            "datastore first (the client does so for a local path)."
        )
    for blob in members:
        blobs.content.materialize(blob.digest, folder / blob.name[len(path) + 1 :])
    return folder
