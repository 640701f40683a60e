"""Registered v1 datasets as data assets: one record, two faces.

A ``dataset.register(ws, name)`` writes a version of the data asset ``name``
(:class:`~emulator.assets.data.DataAssets`, the registry ``ml_client.data`` reads), typed as the
service maps v1 datasets for SDK v2: a file dataset of one file is a ``uri_file``, of one folder a
``uri_folder``; anything else (a tabular dataset, globs, several paths, steps such as ``take``) is
an ``mltable`` whose ``MLTable`` file this module writes to the default datastore under
``azureml/datasets/<name>/<version>/`` (paths, ``read_delimited`` and the steps MLTable knows).
The whole v1 definition rides along under ``V1_KEY`` (``azure-ai-ml`` ignores it), with the
dataset's id (a GUID, as Azure's). A version created through the v2 face reads back as a
``FileDataset`` (``uri_file``/``uri_folder``) or from its ``MLTable`` (``mltable``).
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from emulator.assets.blob_containers import BlobContainers
from emulator.assets.data import DataAssets, DataVersion
from emulator.assets.datastore import (
    DATASTORE_URI,
    DEFAULT_DATASTORE,
    blob_container,
    storage_account,
)
from emulator.exceptions import EmulatorError
from emulator.sdk import dataset_mltable
from emulator.sdk.dataset_paths import _GLOB, resolve
from emulator.sdk.datastore_reference import datastore_uri
from emulator.sdk.exceptions import UserErrorException
from emulator.sdk.workspace import Workspace

#: Where a data version keeps the SDK v1 definition and id it was registered with.
V1_KEY = "azuremlV1Dataset"


@dataclass(frozen=True)
class StoredDataset:
    """A registered dataset version as the v1 objects need it."""

    name: str
    version: int
    id: str
    definition: dict[str, Any]
    description: str | None
    tags: dict[str, str]
    data_type: str
    data_uri: str


def register(
    workspace: Workspace,
    definition: dict[str, Any],
    name: str,
    description: str | None,
    tags: dict[str, str] | None,
    create_new_version: bool,
) -> StoredDataset:
    """Store ``definition`` as a version of ``name`` with the SDK's rules: an existing name needs
    ``create_new_version``; the same definition again is the latest version, not a new one."""
    assets = _assets(workspace)
    latest = assets.latest(name)
    if latest is not None and not latest.archived:
        if not create_new_version:
            raise UserErrorException(
                f'There is already a dataset registered under name "{name}". Specify '
                "`create_new_version=True` to register the dataset as a new version. Use "
                "`update`, `add_tags`, or `remove_tags` to change only the description or tags."
            )
        stored = _stored(workspace, latest)
        if stored.definition == definition:
            return stored
    container = assets.container(name)
    version = container.next_version if container else "1"
    data_type, data_uri = _v2_form(workspace, definition, name, version)
    spec = {
        "dataType": data_type,
        "dataUri": data_uri,
        "description": description,
        "tags": dict(tags or {}),
        "properties": {"azureml.v1.datasetType": definition["type"]},
        V1_KEY: {"id": str(uuid.uuid4()), "definition": definition},
    }
    try:
        return _stored(workspace, assets.put(name, version, spec))
    except EmulatorError as exc:
        raise UserErrorException(exc.message) from None


def update(workspace: Workspace, stored: StoredDataset, **changes: Any) -> StoredDataset:
    """Change the description and/or tags of a version (what Azure lets change)."""
    assets = _assets(workspace)
    current = assets.get(stored.name, str(stored.version))
    if current is None:
        raise UserErrorException(
            f'Cannot find dataset registered with name "{stored.name}" (version: '
            f"{stored.version}) in the workspace."
        )
    return _stored(
        workspace, assets.put(stored.name, str(stored.version), {**current.spec, **changes})
    )


def unregister_all(workspace: Workspace, name: str) -> None:
    """Every version of ``name`` archived: gone for SDK v1 (``get_by_name`` fails, the name can
    be registered again), kept for SDK v2 as archived versions, as data assets are never
    deleted in Azure."""
    assets = _assets(workspace)
    for data in assets.versions(name):
        assets.put(name, data.version, {**data.spec, "isArchived": True})


def by_name(workspace: Workspace, name: str, version: str | int = "latest") -> StoredDataset:
    """The version ``version`` (or the latest) of ``name``."""
    if version != "latest":
        try:
            version = int(version)
        except (TypeError, ValueError):
            raise UserErrorException(
                f'Invalid value {version} for version. Version value must be number or "latest".'
            ) from None
    assets = _assets(workspace)
    found = assets.latest(name) if version == "latest" else assets.get(name, str(version))
    if found is None or found.archived:
        shown = "" if version == "latest" else f" (version: {version})"
        known = ", ".join(c.name for c in assets.containers()) or "none yet"
        raise UserErrorException(
            f'Cannot find dataset registered with name "{name}"{shown} in the workspace. '
            f"[emulator] Registered: {known}."
        )
    return _stored(workspace, found)


def by_id(workspace: Workspace, dataset_id: str) -> StoredDataset:
    """The registered version whose id is ``dataset_id``."""
    assets = _assets(workspace)
    for container in assets.containers():
        for data in assets.versions(container.name):
            if (data.spec.get(V1_KEY) or {}).get("id") == dataset_id and not data.archived:
                return _stored(workspace, data)
    raise UserErrorException(f'Cannot find dataset with id "{dataset_id}" in the workspace.')


def latest_all(workspace: Workspace) -> list[StoredDataset]:
    """The latest version of every registered name (v1 and v2 ones alike)."""
    assets = _assets(workspace)
    found = (assets.latest(c.name) for c in assets.containers() if not c.archived)
    return [_stored(workspace, data) for data in found if data is not None]


def _assets(workspace: Workspace) -> DataAssets:
    state = workspace.emulator_state
    return DataAssets(state.root, state.id)


def _stored(workspace: Workspace, data: DataVersion) -> StoredDataset:
    v1 = data.spec.get(V1_KEY)
    if isinstance(v1, dict):
        definition, dataset_id = v1["definition"], v1["id"]
    else:  # created through the v2 face: its id is stable per version
        definition = _from_v2(workspace, data)
        dataset_id = str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{data.name}:{data.version}:{data.created_time}")
        )
    return StoredDataset(
        name=data.name,
        version=int(data.version) if data.version.isdigit() else 0,
        id=dataset_id,
        definition=definition,
        description=data.spec.get("description"),
        tags=dict(data.spec.get("tags") or {}),
        data_type=data.data_type,
        data_uri=data.data_uri,
    )


# -- v1 definition -> v2 data asset ---------------------------------------------------------


def _v2_form(
    workspace: Workspace, definition: dict[str, Any], name: str, version: str
) -> tuple[str, str]:
    uris: list[str] = definition["uris"]
    if definition["type"] == "File" and len(uris) == 1 and not definition["steps"]:
        match = DATASTORE_URI.fullmatch(uris[0])
        if match is None or not _GLOB.search(match["path"]):
            files = resolve(workspace, uris)
            if len(files) == 1 and _is_single_file(workspace, uris[0]):
                return "uri_file", uris[0]
            return "uri_folder", uris[0].rstrip("/") + "/"
    folder = f"azureml/datasets/{name}/{version}"
    _write_mltable(workspace, f"{folder}/MLTable", _mltable(workspace, definition))
    return "mltable", datastore_uri(DEFAULT_DATASTORE, folder + "/")


def _is_single_file(workspace: Workspace, uri: str) -> bool:
    match = DATASTORE_URI.fullmatch(uri)
    if match is None:
        return True  # a URL resolving to one file
    record = workspace.emulator_state.record
    blobs = BlobContainers(workspace.emulator_state.root)
    path = match["path"].strip("/")
    return (
        bool(path) and blobs.get(storage_account(record), blob_container(record), path) is not None
    )


def _mltable(workspace: Workspace, definition: dict[str, Any]) -> dict[str, Any]:
    paths = []
    for uri in definition["uris"]:
        match = DATASTORE_URI.fullmatch(uri)
        if match is not None and _GLOB.search(match["path"]):
            paths.append({"pattern": uri})
        elif _is_single_file(workspace, uri):
            paths.append({"file": uri})
        else:
            paths.append({"folder": uri})
    steps = dataset_mltable.transformations(definition)
    table: dict[str, Any] = {"paths": paths}
    if steps:
        table["transformations"] = steps
    return table


def _write_mltable(workspace: Workspace, blob_name: str, table: dict[str, Any]) -> None:
    record = workspace.emulator_state.record
    blobs = BlobContainers(workspace.emulator_state.root)
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch, "MLTable")
        source.write_text(yaml.safe_dump(table, sort_keys=False), encoding="utf-8")
        blobs.put(storage_account(record), blob_container(record), blob_name, source)


# -- v2 data asset -> v1 definition ---------------------------------------------------------


def _from_v2(workspace: Workspace, data: DataVersion) -> dict[str, Any]:
    if data.data_type in ("uri_file", "uri_folder"):
        return {"type": "File", "uris": [data.data_uri], "read": None, "steps": []}
    table = _read_mltable(workspace, data.data_uri)
    return dataset_mltable.definition(table, data.data_uri.rstrip("/") + "/")


def _read_mltable(workspace: Workspace, data_uri: str) -> dict[str, Any]:
    match = DATASTORE_URI.fullmatch(data_uri.rstrip("/") + "/MLTable")
    record = workspace.emulator_state.record
    blobs = BlobContainers(workspace.emulator_state.root)
    blob = None
    if match is not None and match["datastore"] == DEFAULT_DATASTORE:
        blob = blobs.get(storage_account(record), blob_container(record), match["path"].lstrip("/"))
    if blob is None:
        raise UserErrorException(
            f"The mltable data asset at {data_uri} has no MLTable file the emulator can read. "
            "[emulator] Its folder on workspaceblobstore must hold the MLTable file."
        )
    loaded = yaml.safe_load(blobs.content_path(blob).read_text(encoding="utf-8")) or {}
    return dict(loaded) if isinstance(loaded, dict) else {}
