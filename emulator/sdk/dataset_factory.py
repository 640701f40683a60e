"""``Dataset.Tabular`` and ``Dataset.File``: the factories deployment samples create datasets
with (``from_delimited_files``, ``from_files``, ``upload_directory``)."""

from __future__ import annotations

import os
from typing import Any

from emulator.sdk.dataset_abstract import AbstractDataset
from emulator.sdk.dataset_file import FileDataset
from emulator.sdk.dataset_paths import to_uris
from emulator.sdk.dataset_tabular import TabularDataset
from emulator.sdk.datastore import AzureBlobDatastore
from emulator.sdk.datastore_reference import DataPath
from emulator.sdk.exceptions import UserErrorException

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
        if partition_format is not None:
            raise UserErrorException(
                "partition_format is not emulated. [emulator] Include the partition folder as a "
                "column with include_path=True instead."
            )
        if not isinstance(separator, str) or len(separator) != 1:
            raise UserErrorException(f"separator must be a single character, not {separator!r}.")
        workspace, uris = to_uris(path)
        read = {
            "separator": separator,
            "header": bool(getattr(header, "value", header)),
            "encoding": str(getattr(encoding, "name", encoding)).lower(),
            "infer_column_types": bool(infer_column_types),
            "include_path": bool(include_path),
            "empty_as_string": bool(empty_as_string),
            "support_multi_line": bool(support_multi_line),
        }
        dataset: TabularDataset = TabularDataset._create(
            {"type": "Tabular", "uris": uris, "read": read, "steps": []}, workspace
        )
        if validate:
            dataset._table()
        return dataset


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
        if isinstance(target, DataPath):
            datastore, folder = target._datastore, target.path_on_datastore
        elif (
            isinstance(target, tuple)
            and len(target) == 2
            and isinstance(target[0], AzureBlobDatastore)
        ):
            datastore, folder = target
        else:
            raise UserErrorException(
                f"Invalid target {target!r}: pass DataPath(datastore, 'folder') or "
                "(datastore, 'folder')."
            )
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
