"""Where a dataset's data is: the ``path`` forms dataset factories take, as data URIs, and the
files those URIs stand for in the emulated blob plane (or behind a URL the root serves).

The forms samples write: ``(datastore, 'folder/*.csv')`` tuples (or lists of them), ``DataPath``,
``datastore.path(...)`` references, ``azureml://datastores/<ds>/paths/<path>`` and ``https://``
URLs. A datastore path is a file, a folder (every blob below it) or a glob (``*``, ``?``,
``[...]``, ``**`` across folders), as the SDK reads them.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.assets.blob_containers import BlobContainers
from emulator.assets.datastore import (
    DATASTORE_URI,
    DEFAULT_DATASTORE,
    blob_container,
    storage_account,
)
from emulator.assets.served_urls import ServedUrls
from emulator.sdk.datastore import AzureBlobDatastore, Datastore
from emulator.sdk.datastore_reference import DataPath, DataReference, datastore_uri
from emulator.sdk.exceptions import UserErrorException
from emulator.sdk.workspace import Workspace, workspace_of
from emulator.state import workspace_states
from emulator.store.root import EmulatorRoot

_GLOB = re.compile(r"[*?\[]")
_LONG_FORM = re.compile(
    r"azureml://subscriptions/(?P<subscription>[^/]+)/resourcegroups/(?P<rg>[^/]+)/workspaces/"
    r"(?P<workspace>[^/]+)/datastores/",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset: its name relative to the dataset's common folder, and content."""

    relative: str
    local: Path


def to_uris(path: Any) -> tuple[Workspace | None, list[str]]:
    """The data URIs of a factory's ``path`` argument and the workspace its datastores belong
    to (None when only URLs are given)."""
    items = path if isinstance(path, list) else [path]
    if not items:
        raise UserErrorException("path must not be empty: give at least one datastore path or URL.")
    workspace: Workspace | None = None
    uris = []
    for item in items:
        store, uri = _one(item)
        if store is not None:
            if workspace is not None and store.workspace != workspace:
                raise UserErrorException(
                    "Every datastore path of a dataset must be in the same workspace."
                )
            workspace = store.workspace
        uris.append(uri)
    return workspace, uris


def _one(item: Any) -> tuple[AzureBlobDatastore | None, str]:
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], AzureBlobDatastore):
        return item[0], datastore_uri(item[0].name, item[1])
    if isinstance(item, DataReference):
        return item.datastore, datastore_uri(item.datastore.name, item.path_on_datastore)
    if isinstance(item, DataPath):
        return item._datastore, datastore_uri(item.datastore_name, item.path_on_datastore)
    if isinstance(item, str) and DATASTORE_URI.fullmatch(item):
        return _workspace_datastore(item), item
    if isinstance(item, str) and re.match(r"https?://", item, re.I):
        return None, item
    raise UserErrorException(
        f"Invalid argument type for `path`: {item!r}. It can be a (datastore, path) tuple, a "
        "DataPath, a datastore.path(...) reference, or an http(s) URL. [emulator] Local files are "
        "uploaded first: ws.get_default_datastore().upload(src_dir='data', target_path='data'), "
        "then path=(datastore, 'data/...')."
    )


def _workspace_datastore(uri: str) -> AzureBlobDatastore | None:
    """The datastore a long-form URI names (``azureml://subscriptions/<s>/resourcegroups/<rg>/
    workspaces/<ws>/datastores/<ds>/paths/...``); None for the short form, which names none."""
    scope = _LONG_FORM.match(uri)
    if scope is None:
        return None
    state = workspace_states().get(scope["subscription"], scope["rg"], scope["workspace"])
    if state is None:
        raise _no_data(uri, f"the emulator has no workspace {scope['workspace']!r}")
    return Datastore.get_default(workspace_of(state))


def resolve(workspace: Workspace | None, uris: Sequence[str]) -> list[DataFile]:
    """The files ``uris`` stand for, in order, named relative to their common folder; raises
    ``UserErrorException`` for a path with no data behind it."""
    found: list[tuple[str, str, Path]] = []  # (base folder, full name, content)
    for uri in uris:
        found.extend(
            _datastore_files(workspace, uri)
            if DATASTORE_URI.fullmatch(uri)
            else _url_files(workspace, uri)
        )
    common = posixpath.commonpath([base for base, *_ in found]) if found else ""
    common = common.strip("/")
    files = []
    for _, full, local in found:
        relative = (
            full[len(common) :].lstrip("/") if common and full.startswith(common + "/") else full
        )
        files.append(DataFile("/" + relative, local))
    return files


def _datastore_files(workspace: Workspace | None, uri: str) -> list[tuple[str, str, Path]]:
    match = DATASTORE_URI.fullmatch(uri)
    assert match is not None
    if workspace is None:
        raise UserErrorException(
            f"The path {uri!r} needs a workspace. [emulator] Pass it as (datastore, path) with "
            "datastore = ws.get_default_datastore(), or in the long form azureml://"
            "subscriptions/<sub>/resourcegroups/<rg>/workspaces/<ws>/datastores/..."
        )
    if match["datastore"] != DEFAULT_DATASTORE:
        raise UserErrorException(
            f"Datastore {match['datastore']!r} was not found in workspace {workspace.name}. "
            f"[emulator] The workspace has the datastore '{DEFAULT_DATASTORE}' only."
        )
    record = workspace.emulator_state.record
    blobs = BlobContainers(workspace.emulator_state.root)
    account, container = storage_account(record), blob_container(record)
    path = match["path"].strip("/")
    glob = _GLOB.search(path)
    if glob is not None:
        head = path[: glob.start()]
        base = head.rsplit("/", 1)[0] if "/" in head else ""
        pattern = glob_pattern(path)
        members = [b for b in blobs.list(account, container, head) if pattern.fullmatch(b.name)]
    else:
        single = blobs.get(account, container, path) if path else None
        if single is not None:
            members, base = [single], posixpath.dirname(path)
        else:
            members, base = blobs.list(account, container, path + "/" if path else ""), path
    if not members:
        raise _no_data(uri, "nothing is stored there; upload it with datastore.upload(...) first")
    return [(base, b.name, blobs.content_path(b)) for b in members]


def glob_pattern(glob: str) -> re.Pattern[str]:
    """The SDK's globs over blob names: ``*`` and ``?`` stay within a folder, ``**/`` spans
    any number of folders (none included), ``[...]`` is a character class."""
    out, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[" and "]" in glob[i + 1 :]:
            end = glob.index("]", i + 1)
            out.append("[" + glob[i + 1 : end].replace("!", "^", 1) + "]")
            i = end + 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out))


def _url_files(workspace: Workspace | None, url: str) -> list[tuple[str, str, Path]]:
    root = EmulatorRoot.current() if workspace is None else workspace.emulator_state.root
    local = ServedUrls(root).local_path(url)
    if local is None or not local.exists():
        raise _no_data(
            url,
            "this machine has no internet, so the emulator reads only the URLs it serves: "
            "`amlemu data serve-url URL PATH` (PATH: the local file or folder standing for it)",
        )
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    if local.is_file():
        return [("", name, local)]
    return [
        (name, f"{name}/{p.relative_to(local).as_posix()}", p)
        for p in sorted(local.rglob("*"))
        if p.is_file()
    ]


def _no_data(uri: str, why: str) -> UserErrorException:
    return UserErrorException(
        f"Cannot load any data from the specified path. Make sure the path is accessible and "
        f"contains data: {uri}. [emulator] {why[0].upper()}{why[1:]}."
    )
