"""``Dataset.Tabular`` and ``Dataset.File``: the factories deployment samples create datasets
with (``from_delimited_files``, ``from_files``, ``upload_directory``)."""

from __future__ import annotations

import os
import tempfile
import uuid
from typing import Any

from emulator.sdk.dataset_abstract import AbstractDataset
from emulator.sdk.dataset_file import FileDataset
from emulator.sdk.dataset_paths import to_uris
from emulator.sdk.dataset_tabular import TabularDataset
from emulator.sdk.datastore import AzureBlobDatastore
from emulator.sdk.datastore_reference import DataPath
from emulator.sdk.exceptions import UserErrorException
from emulator.sdk.not_emulated import not_emulated

__all__ = ["FileDatasetFactory", "TabularDatasetFactory"]


class TabularDatasetFactory:
    """Creates ``TabularDataset`` objects."""

    _DATASET = TabularDataset

    @staticmethod
    def from_delimited_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        infer_column_types: bool = True,
        set_column_types: dict[str, Any] | None = None,
        separator: str = ",",
        header: bool | Any = True,
        partition_format: str | None = None,
        support_multi_line: bool = False,
        empty_as_string: bool = False,
        encoding: str = "utf8",
    ) -> TabularDataset:
        """A table read from the CSV (or other delimited) files at ``path``; with ``validate``
        the files are read now, so a wrong path or separator fails here, as in Azure."""
        _no_partitions(partition_format)
        if not isinstance(separator, str) or len(separator) != 1:
            raise UserErrorException(f"separator must be a single character, not {separator!r}.")
        read = {
            "separator": separator,
            "header": bool(getattr(header, "value", header)),
            "encoding": str(getattr(encoding, "name", encoding)).lower(),
            "infer_column_types": bool(infer_column_types),
            "include_path": bool(include_path),
            "empty_as_string": bool(empty_as_string),
            "support_multi_line": bool(support_multi_line),
        }
        return _tabular(path, read, validate)

    @staticmethod
    def from_json_lines_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        set_column_types: dict[str, Any] | None = None,
        partition_format: str | None = None,
        invalid_lines: str = "error",
        encoding: str = "utf8",
    ) -> TabularDataset:
        """A table of the JSON objects, one a line, of the files at ``path``."""
        _no_partitions(partition_format)
        if invalid_lines not in ("error", "drop"):
            raise UserErrorException(
                f"invalid_lines must be 'error' or 'drop', not {invalid_lines!r}."
            )
        read = {
            "format": "json_lines",
            "include_path": bool(include_path),
            "invalid_lines": invalid_lines,
            "encoding": str(encoding).lower(),
        }
        return _tabular(path, read, validate)

    @staticmethod
    def from_parquet_files(
        path: Any,
        validate: bool = True,
        include_path: bool = False,
        set_column_types: dict[str, Any] | None = None,
        partition_format: str | None = None,
    ) -> TabularDataset:
        """A table of the Parquet files at ``path`` (reading them needs pyarrow)."""
        _no_partitions(partition_format)
        return _tabular(path, {"format": "parquet", "include_path": bool(include_path)}, validate)

    @staticmethod
    def register_pandas_dataframe(
        dataframe: Any,
        target: Any,
        name: str,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        show_progress: bool = True,
        row_group_size: int | None = None,
        make_target_path_unique: bool = True,
    ) -> TabularDataset:
        """Write ``dataframe`` to ``target`` on the datastore and register it as ``name`` (a new
        version when the name exists). [emulator] Written as CSV, not Parquet, so reading it back
        needs no pyarrow; column types are inferred again when read."""
        if not hasattr(dataframe, "to_csv"):
            raise UserErrorException(
                f"dataframe must be a pandas DataFrame, not {type(dataframe).__name__}."
            )
        datastore, folder = _target(target)
        if make_target_path_unique:
            folder = "/".join(p for p in ((folder or "").strip("/"), str(uuid.uuid4())) if p)
        with tempfile.TemporaryDirectory() as scratch:
            dataframe.to_csv(os.path.join(scratch, "part-00000.csv"), index=False)
            datastore.upload(scratch, folder, overwrite=True, show_progress=show_progress)
        table = TabularDatasetFactory.from_delimited_files((datastore, f"{folder}/part-00000.csv"))
        registered: TabularDataset = table.register(
            datastore.workspace, name, description, tags, create_new_version=True
        )
        return registered

    @staticmethod
    def register_dask_dataframe(
        dataframe: Any,
        target: Any,
        name: str,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        show_progress: bool = True,
    ) -> TabularDataset:
        """Write a Dask DataFrame to ``target`` and register it as ``name`` (a new version when
        the name exists), as ``register_pandas_dataframe`` does with its computed rows.
        [emulator] Written as CSV under a new folder, not as Parquet partitions."""
        if not hasattr(dataframe, "compute"):
            raise UserErrorException(
                f"dataframe must be a dask DataFrame, not {type(dataframe).__name__}."
            )
        return TabularDatasetFactory.register_pandas_dataframe(
            dataframe.compute(), target, name, description, tags, show_progress
        )

    @staticmethod
    @not_emulated("a SQL datastore is a database outside this machine, which it cannot reach")
    def from_sql_query(
        query: Any,
        validate: bool = True,
        set_column_types: dict[str, Any] | None = None,
        query_timeout: int = 30,
    ) -> Any: ...

    @staticmethod
    @not_emulated("a Spark DataFrame needs a Spark session; use register_pandas_dataframe")
    def register_spark_dataframe(
        dataframe: Any,
        target: Any,
        name: str,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        show_progress: bool = True,
    ) -> Any: ...


def _tabular(path: Any, read: dict[str, Any], validate: bool) -> TabularDataset:
    """A tabular dataset over ``path`` read with ``read``; with ``validate`` it is read now, so
    a wrong path or option fails here, as in Azure."""
    workspace, uris = to_uris(path)
    dataset: TabularDataset = TabularDataset._create(
        {"type": "Tabular", "uris": uris, "read": read, "steps": []}, workspace
    )
    if validate:
        dataset._table()
    return dataset


def _no_partitions(partition_format: str | None) -> None:
    if partition_format is not None:
        raise UserErrorException(
            "partition_format is not emulated. [emulator] Include the partition folder as a "
            "column with include_path=True instead."
        )


def _target(target: Any) -> tuple[AzureBlobDatastore, str | None]:
    """The datastore and folder of a ``DataPath`` or ``(datastore, folder)`` target."""
    if isinstance(target, DataPath):
        return target._datastore, target.path_on_datastore
    if isinstance(target, tuple) and len(target) == 2 and isinstance(target[0], AzureBlobDatastore):
        return target[0], target[1]
    raise UserErrorException(
        f"Invalid target {target!r}: pass DataPath(datastore, 'folder') or (datastore, 'folder')."
    )


class FileDatasetFactory:
    """Creates ``FileDataset`` objects."""

    _DATASET = FileDataset

    @staticmethod
    def from_files(
        path: Any, validate: bool = True, partition_format: str | None = None, is_file: bool = False
    ) -> FileDataset:
        """The files at ``path`` (files, folders or globs); with ``validate`` they must exist."""
        if partition_format is not None:
            raise UserErrorException("partition_format is not emulated. [emulator] Leave it unset.")
        workspace, uris = to_uris(path)
        dataset: FileDataset = FileDataset._create(
            {"type": "File", "uris": uris, "read": None, "steps": []}, workspace
        )
        if validate:
            dataset._files()
        return dataset

    @staticmethod
    def upload_directory(
        src_dir: str | os.PathLike[str],
        target: Any,
        pattern: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> FileDataset:
        """Upload ``src_dir`` to ``target`` (a ``DataPath`` or ``(datastore, path)``) and return
        the file dataset of what is there."""
        datastore, folder = _target(target)
        if pattern is not None:
            import fnmatch

            files = [
                os.path.join(d, n)
                for d, _, names in os.walk(src_dir)
                for n in names
                if fnmatch.fnmatch(n, pattern)
            ]
            datastore.upload_files(files, os.fspath(src_dir), folder, overwrite, show_progress)
        else:
            datastore.upload(src_dir, folder, overwrite, show_progress)
        return FileDatasetFactory.from_files((datastore, folder or ""))


AbstractDataset.Tabular = TabularDatasetFactory
AbstractDataset.File = FileDatasetFactory
