"""A job's ``uri_file`` / ``uri_folder`` / ``mltable`` input made local files, as Azure mounts or
downloads it for the job: what the batch job engine calls before it cuts mini-batches.

The forms a job's input arrives in (what ``azure-ai-ml`` sends once it has uploaded local paths
and resolved ``name@latest``):

- a data asset: ``azureml:<name>:<version>``, ``azureml:<name>@latest``, or its ARM id
  (``[azureml:]/subscriptions/.../workspaces/<ws>/data/<name>/versions/<version>``); its own
  ``dataUri`` is then read, and its type must be the input's;
- a datastore path, short or long: ``azureml://datastores/<ds>/paths/<path>`` (a local path the
  SDK uploaded arrives as ``.../workspaceblobstore/paths/LocalUpload/<hash>/<name>``);
- an ``http(s)://`` URL the root serves (:mod:`emulator.assets.served_urls`); any other URL
  fails as an unreachable input does in Azure.

What cannot be found fails with Azure's data-access text (``Found no resources for the input
provided``) plus the fix; a file given where a folder is declared (or the reverse) names the
type to declare.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path, PurePosixPath
from typing import Literal

from emulator.assets.blob_containers import BlobContainers
from emulator.assets.data import DataAssets, DataVersion
from emulator.assets.datastore import (
    DATASTORE_URI,
    DEFAULT_DATASTORE,
    blob_container,
    storage_account,
)
from emulator.assets.served_urls import ServedUrls
from emulator.exceptions import BadArgument, NotFound
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceRecord, WorkspaceStore

InputKind = Literal["uri_file", "uri_folder", "mltable"]
INPUT_KINDS: tuple[InputKind, ...] = ("uri_file", "uri_folder", "mltable")
_KIND_SPELLINGS = {k.replace("_", ""): k for k in INPUT_KINDS}

_ARM_DATA = re.compile(
    r"(?:azureml:)?/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.MachineLearningServices/workspaces/(?P<workspace>[^/]+)/data/(?P<name>[^/]+)/"
    r"versions/(?P<version>[^/]+)",
    re.IGNORECASE,
)
_SHORT_DATA = re.compile(
    r"azureml:(?P<name>[^/:@]+)(?::(?P<version>[^/:@]+)|@(?P<label>[^/:@]+))", re.IGNORECASE
)
_LONG_DATASTORE_SCOPE = re.compile(
    r"azureml://subscriptions/(?P<subscription>[^/]+)/resourcegroups/(?P<rg>[^/]+)/workspaces/"
    r"(?P<workspace>[^/]+)/datastores/",
    re.IGNORECASE,
)


def materialize(
    root: EmulatorRoot, workspace_id: int, uri: str, kind: str, into: Path
) -> list[Path]:
    """Write the input ``uri`` of type ``kind`` under ``into`` (a file as ``into/<its name>``,
    a folder's files at their relative paths) and return those files, sorted.

    ``kind`` is the SDK's type (``uri_folder``) or the jobs API's ``jobInputType``
    (``UriFolder``). Raises :class:`~emulator.exceptions.NotFound` for an input that is not
    there and :class:`~emulator.exceptions.BadArgument` for one of the wrong type or form.
    """
    kind = _KIND_SPELLINGS.get(kind.replace("_", "").casefold(), kind)
    if kind not in INPUT_KINDS:
        raise BadArgument(
            f"The input type {kind!r} is not a file or folder input: use one of "
            f"{', '.join(INPUT_KINDS)}.",
            code="UserError",
        )
    record = WorkspaceStore(root).by_id(workspace_id)
    if record is None:
        raise NotFound(f"No workspace with id {workspace_id} in the emulator root {root.path}.")
    data_uri = _follow_data_asset(root, record, uri.strip(), kind)
    into.mkdir(parents=True, exist_ok=True)
    if DATASTORE_URI.fullmatch(data_uri):
        files = _from_datastore(root, record, data_uri, kind, into)
    elif re.match(r"https?://", data_uri, re.IGNORECASE):
        files = _from_url(root, data_uri, kind, into)
    else:
        raise BadArgument(
            f"The input path {uri!r} is not one a job can read. Give a data asset "
            "(azureml:<name>:<version>), a datastore path (azureml://datastores/<datastore>/"
            "paths/<path>), an https:// URL, or a local path for the client to upload.",
            code="UserError",
        )
    if kind == "mltable" and not (into / "MLTable").is_file():
        raise BadArgument(
            f"The mltable input {uri!r} has no MLTable file at its top: an mltable input is a "
            "folder with an MLTable file. Add it, or declare the input uri_folder.",
            code="UserError",
        )
    return sorted(files)


def data_uri(root: EmulatorRoot, workspace_id: int, uri: str, kind: str) -> str:
    """The data URI the input ``uri`` of type ``kind`` stands for (a data asset's ``dataUri``,
    else ``uri``), reading nothing: what a job's submission checks. Raises
    :class:`~emulator.exceptions.NotFound` for a data asset that does not exist and
    :class:`~emulator.exceptions.BadArgument` for one of another type than ``kind``."""
    kind = _KIND_SPELLINGS.get(kind.replace("_", "").casefold(), kind)
    record = WorkspaceStore(root).by_id(workspace_id)
    if record is None:
        raise NotFound(f"No workspace with id {workspace_id} in the emulator root {root.path}.")
    return _follow_data_asset(root, record, uri.strip(), kind)


def _follow_data_asset(root: EmulatorRoot, record: WorkspaceRecord, uri: str, kind: str) -> str:
    """The data URI ``uri`` stands for: a data asset's own ``dataUri``, else ``uri`` itself."""
    arm = _ARM_DATA.fullmatch(uri)
    short = None if arm else _SHORT_DATA.fullmatch(uri)
    if arm is None and short is None:
        return uri
    assets = DataAssets(root, record.id)
    asset: DataVersion | None
    if arm is not None:
        name, version = arm["name"], arm["version"]
        same = arm["workspace"].casefold() == record.name.casefold()
        asset = assets.get(name, version) if same else None
    else:
        assert short is not None
        name, version = short["name"], short["version"] or f"@{short['label']}"
        if short["label"] is not None and short["label"].casefold() != "latest":
            raise BadArgument(
                f"The data asset label {short['label']!r} in {uri!r} is unknown: the only label "
                "is 'latest' (azureml:<name>@latest), or give a version (azureml:<name>:<v>).",
                code="UserError",
            )
        asset = assets.latest(name) if short["label"] else assets.get(name, version)
    if asset is None:
        shown = f"{name}{version}" if version.startswith("@") else f"{name}:{version}"
        raise NotFound(
            f"Found no resources for the input provided: data asset {shown} does not exist in "
            f"workspace {record.name}. Register it (ml_client.data.create_or_update) or fix "
            "the name and version.",
            code="UserError",
        )
    if asset.data_type != kind:
        raise BadArgument(
            f"The input {uri!r} is the {asset.data_type} data asset {asset.name}:"
            f"{asset.version}, but the input is declared {kind}: declare it "
            f"Input(type='{asset.data_type}', ...).",
            code="UserError",
        )
    return asset.data_uri


def _from_datastore(
    root: EmulatorRoot, record: WorkspaceRecord, uri: str, kind: str, into: Path
) -> list[Path]:
    found = DATASTORE_URI.fullmatch(uri)
    assert found is not None
    scope = _LONG_DATASTORE_SCOPE.match(uri)
    if scope is not None and scope["workspace"].casefold() != record.name.casefold():
        raise _no_resources(uri, f"it names the workspace {scope['workspace']!r}")
    if found["datastore"].casefold() != DEFAULT_DATASTORE:
        raise _no_resources(
            uri,
            f"each workspace has the default datastore '{DEFAULT_DATASTORE}' only; "
            f"put the data there (azureml://datastores/{DEFAULT_DATASTORE}/paths/...)",
        )
    blobs = BlobContainers(root)
    account, container = storage_account(record), blob_container(record)
    path = found["path"].strip("/")
    single = blobs.get(account, container, path) if path else None
    members = blobs.list(account, container, path + "/" if path else "")
    if kind == "uri_file":
        if single is None:
            if members:
                raise _wrong_kind(uri, "a folder", "uri_folder")
            raise _no_resources(uri, "no file is there; upload it or fix the path")
        target = into / PurePosixPath(path).name
        blobs.content.materialize(single.digest, target)
        return [target]
    if not members:
        if single is not None:
            raise _wrong_kind(uri, "a file", "uri_file")
        raise _no_resources(uri, "no folder is there; upload it or fix the path")
    files = []
    for blob in members:
        target = into / blob.name[len(path) + 1 :] if path else into / blob.name
        blobs.content.materialize(blob.digest, target)
        files.append(target)
    return files


def _from_url(root: EmulatorRoot, url: str, kind: str, into: Path) -> list[Path]:
    local = ServedUrls(root).local_path(url)
    if local is None:
        raise _no_resources(
            url,
            "this machine has no internet, so the emulator serves only the URLs registered "
            "with it: `amlemu data serve-url URL PATH` (PATH: the local file or folder that "
            "stands for it)",
        )
    if not local.exists():
        raise _no_resources(url, f"it is served from {local}, which no longer exists")
    if kind == "uri_file":
        if not local.is_file():
            raise _wrong_kind(url, "a folder", "uri_folder")
        name = PurePosixPath(url.split("?", 1)[0].rstrip("/")).name or local.name
        target = into / name
        shutil.copyfile(local, target)
        return [target]
    if not local.is_dir():
        raise _wrong_kind(url, "a file", "uri_file")
    files = []
    for source in sorted(p for p in local.rglob("*") if p.is_file()):
        target = into / source.relative_to(local)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        files.append(target)
    if not files:
        raise _no_resources(url, f"the folder {local} serving it is empty")
    return files


def _no_resources(uri: str, why: str) -> NotFound:
    """Azure's data-access error for an input that is not there (or cannot be reached)."""
    return NotFound(
        f"Found no resources for the input provided: '{uri}'. [emulator] {why[0].upper()}"
        f"{why[1:]}.",
        code="UserError",
    )


def _wrong_kind(uri: str, what: str, declare: str) -> BadArgument:
    return BadArgument(
        f"The input {uri!r} is {what}: declare the input {declare} (Input(type='{declare}')).",
        code="UserError",
    )
