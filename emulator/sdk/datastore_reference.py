"""``DataReference`` and ``DataPath``: a path on a datastore, as ``datastore.path(...)``,
``datastore.upload(...)`` and dataset factories (``from_files(path=DataPath(...))``) pass it.

Both name the datastore and the path on it; :func:`datastore_uri` turns either (or the
``(datastore, path)`` tuples samples write) into the ``azureml://datastores/<ds>/paths/<path>``
form that the v2 face and the input resolver read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.sdk.exceptions import UserErrorException

if TYPE_CHECKING:
    from emulator.sdk.datastore import AzureBlobDatastore

__all__ = ["DataPath", "DataReference"]


class DataReference:
    """A path on a datastore with how a run would see it (``mount``, ``download``, ``upload``)."""

    def __init__(
        self,
        datastore: AzureBlobDatastore,
        data_reference_name: str | None = None,
        path_on_datastore: str | None = None,
        mode: str = "mount",
        path_on_compute: str | None = None,
        overwrite: bool = False,
    ) -> None:
        self.datastore = datastore
        self.data_reference_name = data_reference_name or datastore.name
        self.path_on_datastore = path_on_datastore
        self.mode = mode
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite

    @staticmethod
    def create(
        data_reference_name: str | None = None,
        datapath: DataPath | None = None,
        datapath_compute_binding: object = None,
    ) -> DataReference:
        """The reference to ``datapath`` (mounted, the SDK's default binding)."""
        if datapath is None:
            raise UserErrorException(
                "DataReference.create needs a datapath: DataPath(datastore, path)."
            )
        return datapath.create_data_reference(data_reference_name, datapath_compute_binding)

    def path(
        self, path: str | None = None, data_reference_name: str | None = None
    ) -> DataReference:
        """A reference to ``path`` below this one."""
        joined = "/".join(p.strip("/") for p in (self.path_on_datastore, path) if p)
        return DataReference(self.datastore, data_reference_name, joined or None, self.mode)

    def as_mount(self) -> DataReference:
        return self._with_mode("mount", self.path_on_compute, self.overwrite)

    def as_download(
        self, path_on_compute: str | None = None, overwrite: bool = False
    ) -> DataReference:
        return self._with_mode("download", path_on_compute, overwrite)

    def as_upload(
        self, path_on_compute: str | None = None, overwrite: bool = False
    ) -> DataReference:
        return self._with_mode("upload", path_on_compute, overwrite)

    def _with_mode(self, mode: str, path_on_compute: str | None, overwrite: bool) -> DataReference:
        return DataReference(
            self.datastore,
            self.data_reference_name,
            self.path_on_datastore,
            mode,
            path_on_compute,
            overwrite,
        )

    def to_config(self) -> dict[str, Any]:
        """The run configuration's data reference entry."""
        return {
            "dataStoreName": self.datastore.name,
            "mode": self.mode,
            "pathOnDataStore": self.path_on_datastore,
            "pathOnCompute": self.path_on_compute,
            "overwrite": self.overwrite,
        }

    def __str__(self) -> str:
        return f"$AZUREML_DATAREFERENCE_{self.data_reference_name}"

    def __repr__(self) -> str:
        return (
            f"DataReference(datastore={self.datastore.name!r}, "
            f"path_on_datastore={self.path_on_datastore!r}, mode={self.mode!r})"
        )


class DataPath:
    """A datastore and a path on it: the ``path`` argument dataset factories take."""

    def __init__(
        self,
        datastore: AzureBlobDatastore | None = None,
        path_on_datastore: str | None = None,
        name: str | None = None,
    ) -> None:
        if datastore is None:
            raise UserErrorException(
                "DataPath needs a datastore. [emulator] Pass the workspace's datastore: "
                "DataPath(ws.get_default_datastore(), 'folder/file.csv')."
            )
        self._datastore = datastore
        self._path_on_datastore = path_on_datastore
        self._name = name

    @property
    def datastore_name(self) -> str:
        return self._datastore.name

    @property
    def path_on_datastore(self) -> str | None:
        return self._path_on_datastore

    def create_data_reference(
        self, data_reference_name: str | None = None, datapath_compute_binding: object = None
    ) -> DataReference:
        """The data reference to this path (mounted, as the SDK's default binding)."""
        return DataReference(self._datastore, data_reference_name, self._path_on_datastore)

    @staticmethod
    def create_from_data_reference(data_reference: DataReference) -> DataPath:
        return DataPath(data_reference.datastore, data_reference.path_on_datastore)

    def __repr__(self) -> str:
        return f"DataPath(datastore={self.datastore_name!r}, path={self._path_on_datastore!r})"


def datastore_uri(datastore_name: str, path: str | None) -> str:
    """``azureml://datastores/<ds>/paths/<path>``: the v2 face's form of a datastore path."""
    return f"azureml://datastores/{datastore_name}/paths/{(path or '').lstrip('/')}"
