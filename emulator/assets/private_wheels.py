"""Private pip wheels (``Environment.add_private_pip_wheel``): stored in the workspace's storage
account, named by the URL environments list in their pip dependencies.

Azure's SDK (azureml-core 1.61, ``Environment.add_private_pip_wheel``) uploads the file as an
artifact of origin ``Environment``, container ``azureml-private-packages``, path = the file's
name; artifacts live in the ``azureml`` blob container of the workspace's storage account, so the
URL it returns (SAS query dropped) is::

    https://<account>.blob.core.windows.net/azureml/Environment/azureml-private-packages/<file>

A name is stored once: adding it again fails (Azure's "Resource Conflict: ArtifactId") unless
``exist_ok``, which returns the stored one's URL and leaves its content. Image builds resolve
such a URL to the stored file (:meth:`PrivateWheels.fetch`), so ``pip`` never goes online for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from emulator.assets.blob_containers import BlobContainers
from emulator.assets.datastore import storage_account
from emulator.exceptions import Conflict
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceRecord

CONTAINER = "azureml"
PREFIX = "Environment/azureml-private-packages/"
_URL = re.compile(
    r"https://(?P<account>[a-z0-9]{3,24})\.blob\.core\.windows\.net/"
    + re.escape(f"{CONTAINER}/{PREFIX}")
    + r"(?P<name>[^/?#\s]+)\Z"
)


@dataclass(frozen=True)
class StoredWheel:
    """A stored private package: its file name, where its content is, and the content digest."""

    name: str
    path: Path
    digest: str


def is_private_wheel_url(line: str) -> bool:
    """Whether a pip line is the URL ``add_private_pip_wheel`` returns (of any workspace)."""
    return _URL.match(line.strip()) is not None


def wheel_url(workspace: WorkspaceRecord, name: str) -> str:
    return f"https://{storage_account(workspace)}.blob.core.windows.net/{CONTAINER}/{PREFIX}{name}"


class PrivateWheels:
    """The private packages of every workspace of one emulator root."""

    def __init__(self, root: EmulatorRoot) -> None:
        self._blobs = BlobContainers(root)

    def add(self, workspace: WorkspaceRecord, source: Path, exist_ok: bool) -> str:
        """Store ``source`` under its file name; the URL an environment's pip list names."""
        account = storage_account(workspace)
        name = source.name
        if self._blobs.get(account, CONTAINER, PREFIX + name) is not None:
            if not exist_ok:
                raise Conflict(
                    f"A wheel with the name {name} already exists.\nPlease make sure {name} is "
                    "the private wheel you would like to add to the workspace.\nIf you would "
                    "like to have it be a no-op instead of throwing an exception for duplicate "
                    "entries,\nplease set exist_ok=True"
                )
            return wheel_url(workspace, name)
        self._blobs.put(account, CONTAINER, PREFIX + name, source)
        return wheel_url(workspace, name)

    def fetch(self, url: str) -> StoredWheel | None:
        """The stored package a URL names (None: no workspace of this root stored it)."""
        match = _URL.match(url.strip())
        if match is None:
            return None
        blob = self._blobs.get(match["account"], CONTAINER, PREFIX + match["name"])
        if blob is None:
            return None
        return StoredWheel(match["name"], self._blobs.content_path(blob), blob.digest)
