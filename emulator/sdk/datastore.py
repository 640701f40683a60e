"""``azureml.core.Datastore`` and the workspace's blob datastore (``AzureBlobDatastore``).

One record, two faces: the v1 datastore is the v2 face's ``workspaceblobstore`` — the same
storage account and ``azureml-blobstore-<guid>`` container in the emulated blob plane
(:mod:`emulator.assets.datastore`, :mod:`emulator.assets.blob_containers`). A file uploaded with
``datastore.upload`` is what ``azure-ai-ml`` reads as
``azureml://datastores/workspaceblobstore/paths/<path>``, and the reverse.

[emulator] Each workspace has that one datastore, as on the v2 face; registering another
(``register_azure_blob_container`` and friends, :mod:`emulator.sdk.datastore_register`) would
point at storage outside this machine, so those raise ``UserErrorException`` saying so.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from emulator.assets.blob_containers import BlobContainers
from emulator.assets.datastore import DEFAULT_DATASTORE, blob_container, storage_account
from emulator.sdk.datastore_reference import DataReference
from emulator.sdk.datastore_register import DatastoreRegistration
from emulator.sdk.exceptions import UserErrorException
from emulator.sdk.workspace import Workspace

__all__ = ["AbstractDatastore", "AzureBlobDatastore", "Datastore"]

logger = logging.getLogger("emulator.datastore")


class AbstractDatastore:
    """What every datastore has: its workspace, name and type."""

    def __init__(self, workspace: Workspace, name: str, datastore_type: str) -> None:
        self._workspace = workspace
        self._name = name
        self._datastore_type = datastore_type

    @property
    def name(self) -> str:
        return self._name

    @property
    def workspace(self) -> Workspace:
        return self._workspace

    @property
    def datastore_type(self) -> str:
        return self._datastore_type

    def set_as_default(self) -> None:
        """Only ``workspaceblobstore`` can be the default: the one datastore of an emulated
        workspace, which is the default already."""
        if self._name != DEFAULT_DATASTORE:
            raise UserErrorException(
                f"Datastore {self._name!r} can not be the default. [emulator] The workspace's "
                f"default datastore is '{DEFAULT_DATASTORE}'."
            )

    def unregister(self) -> None:
        raise UserErrorException(
            f"Datastore {self._name} can not be unregistered: it is the workspace's default "
            "datastore. [emulator] Every emulated workspace keeps its workspaceblobstore."
        )


class AzureBlobDatastore(AbstractDatastore):
    """The workspace's blob datastore: uploads and downloads go to the emulated blob plane."""

    def __init__(
        self,
        workspace: Workspace,
        name: str,
        container_name: str,
        account_name: str,
        sas_token: str | None = None,
        account_key: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        request_session: object = None,
        workspace_msi_has_access: bool = False,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        service_data_access_auth_identity: str | None = None,
    ) -> None:
        super().__init__(workspace, name, "AzureBlob")
        self.container_name = container_name
        self.account_name = account_name
        self.sas_token = sas_token
        self.account_key = account_key
        self.credential_type = "AccountKey" if account_key else "Sas" if sas_token else "None"
        self.protocol = protocol or "https"
        self.endpoint = endpoint or "core.windows.net"
        self.workspace_msi_has_access = workspace_msi_has_access
        self.subscription_id = subscription_id or workspace.subscription_id
        self.resource_group = resource_group or workspace.resource_group
        self.service_data_access_auth_identity = service_data_access_auth_identity

    @property
    def is_sas(self) -> bool:
        return bool(self.sas_token)

    # -- references ------------------------------------------------------------------------------

    def path(
        self, path: str | None = None, data_reference_name: str | None = None
    ) -> DataReference:
        """A reference to ``path`` on this datastore (what dataset factories and runs take)."""
        return DataReference(self, data_reference_name, path)

    def as_mount(self) -> DataReference:
        return DataReference(self, mode="mount")

    def as_download(self, path_on_compute: str | None = None) -> DataReference:
        return DataReference(self, mode="download", path_on_compute=path_on_compute)

    def as_upload(self, path_on_compute: str | None = None) -> DataReference:
        return DataReference(self, mode="upload", path_on_compute=path_on_compute)

    # -- transfers -------------------------------------------------------------------------------

    def upload(
        self,
        src_dir: str | os.PathLike[str],
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataReference:
        """Upload every file under ``src_dir`` to ``target_path`` (tree kept); existing blobs are
        skipped unless ``overwrite``. Returns the reference to ``target_path``."""
        source = os.fspath(src_dir).rstrip("/\\")
        if not os.path.isdir(source):
            raise UserErrorException(
                f"src_path must be a directory. [emulator] {source!r} is not one; upload single "
                "files with datastore.upload_files([...])."
            )
        pairs = [
            (
                Path(folder, name),
                _blob_name(target_path, os.path.relpath(Path(folder, name), source)),
            )
            for folder, _, names in os.walk(source)
            for name in sorted(names)
        ]
        self._upload(pairs, overwrite, show_progress)
        return DataReference(self, path_on_datastore=target_path)

    def upload_files(
        self,
        files: Iterable[str | os.PathLike[str]],
        relative_root: str | None = None,
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataReference:
        """Upload ``files`` to ``target_path``, each at its path relative to ``relative_root``
        (default: their common folder)."""
        paths = [os.path.abspath(os.fspath(f)) for f in files]
        for path in paths:
            if not os.path.isfile(path):
                raise UserErrorException(
                    f"'{path}' does not point to a file. Please upload the file to cloud first if "
                    "running in a cloud notebook. [emulator] Check the path: it is resolved "
                    f"against the working directory {os.getcwd()}."
                )
        if relative_root is None:
            relative_root = (
                os.path.commonpath([os.path.dirname(p) for p in paths]) if paths else "/"
            )
        root = os.path.abspath(relative_root)
        pairs = []
        for path in paths:
            if os.path.commonpath([root, path]) != root:
                raise UserErrorException(
                    f"relative_root: '{relative_root}' is not part of the file_path: '{path}'."
                )
            pairs.append((Path(path), _blob_name(target_path, os.path.relpath(path, root))))
        self._upload(pairs, overwrite, show_progress)
        return DataReference(self, path_on_datastore=target_path)

    def _upload(self, pairs: list[tuple[Path, str]], overwrite: bool, show_progress: bool) -> int:
        blobs = BlobContainers(self._workspace.emulator_state.root)
        total = len(pairs)
        _say(show_progress, f"Uploading an estimated of {total} files")
        done = 0
        for source, name in pairs:
            if not overwrite and blobs.get(self.account_name, self.container_name, name):
                total -= 1
                _say(show_progress, f"Target already exists. Skipping upload for {name}")
                continue
            _say(show_progress, f"Uploading {source}")
            blobs.put(self.account_name, self.container_name, name, source)
            done += 1
            _say(
                show_progress,
                f"Uploaded {source}, {done} files out of an estimated total of {total}",
            )
        _say(show_progress, f"Uploaded {done} files")
        return done

    def download(
        self,
        target_path: str | os.PathLike[str],
        prefix: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> int:
        """Download the blobs whose names start with ``prefix`` to ``target_path/<blob name>``;
        returns how many were written (existing files are kept unless ``overwrite``)."""
        blobs = BlobContainers(self._workspace.emulator_state.root)
        found = blobs.list(self.account_name, self.container_name, (prefix or "").lstrip("/"))
        _say(show_progress, f"Downloading an estimated of {len(found)} files")
        written = 0
        for blob in found:
            target = Path(target_path, *blob.name.split("/"))
            if target.exists() and not overwrite:
                logger.warning("Path already exists. Skipping download for %s", target)
                continue
            blobs.content.materialize(blob.digest, target)
            written += 1
            _say(
                show_progress,
                f"Downloaded {blob.name}, {written} files out of an estimated "
                f"total of {len(found)}",
            )
        _say(show_progress, f"Downloaded {written} files")
        return written

    def __repr__(self) -> str:
        return (
            f"AzureBlobDatastore(name={self.name!r}, container_name={self.container_name!r}, "
            f"account_name={self.account_name!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AzureBlobDatastore):
            return NotImplemented
        return (self._workspace, self.name) == (other._workspace, other.name)

    def __hash__(self) -> int:
        return hash((self._workspace, self.name))


class Datastore(AbstractDatastore, DatastoreRegistration):
    """``Datastore(ws, name)`` / ``Datastore.get(ws, name)``: the workspace's datastores. As in
    the SDK, constructing one returns the datastore's own object (an ``AzureBlobDatastore``)."""

    def __new__(cls, workspace: Workspace, name: str | None = None) -> AzureBlobDatastore:  # type: ignore[misc]
        return Datastore.get(workspace, name) if name else Datastore.get_default(workspace)

    def __init__(self, workspace: Workspace, name: str | None = None) -> None:
        """Never runs: ``__new__`` returns another class's object, so Python skips it; it is
        here for the SDK's signature."""

    @staticmethod
    def get(workspace: Workspace, datastore_name: str) -> AzureBlobDatastore:
        """The datastore called ``datastore_name``."""
        if datastore_name != DEFAULT_DATASTORE:
            raise UserErrorException(
                f"Datastore {datastore_name!r} was not found in workspace {workspace.name}. "
                f"[emulator] Each emulated workspace has the datastore '{DEFAULT_DATASTORE}' only "
                "(the one azure-ai-ml sees too): use Datastore.get_default(ws)."
            )
        return Datastore.get_default(workspace)

    @staticmethod
    def get_default(workspace: Workspace) -> AzureBlobDatastore:
        """The workspace's default datastore, ``workspaceblobstore``."""
        record = workspace.emulator_state.record
        return AzureBlobDatastore(
            workspace, DEFAULT_DATASTORE, blob_container(record), storage_account(record)
        )

    @staticmethod
    def _all(workspace: Workspace) -> dict[str, AzureBlobDatastore]:
        """Name → datastore (``ws.datastores``)."""
        return {DEFAULT_DATASTORE: Datastore.get_default(workspace)}


def _blob_name(target_path: str | None, relative: str) -> str:
    """``<target_path>/<relative>`` with forward slashes, as Azure names the uploaded blob."""
    parts = [p for p in (target_path or "").replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join([*parts, *relative.replace(os.sep, "/").split("/")])


def _say(show_progress: bool, line: str) -> None:
    if show_progress:
        print(line)
