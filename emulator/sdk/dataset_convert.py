"""A tabular dataset written out as files: ``to_csv_files`` and ``to_parquet_files``.

Azure returns a file dataset whose CSV or Parquet files its dataflow materializes when they are
read. Here the rows (steps applied) are written at once to the workspace's default datastore,
under ``azureml/datasets/converted/<guid>/``, and the file dataset names that folder: the files
read back the same way, and they stay where other clients of the datastore can see them.
"""

from __future__ import annotations

import csv
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.sdk.exceptions import UserErrorException

if TYPE_CHECKING:
    from emulator.sdk.dataset_file import FileDataset
    from emulator.sdk.dataset_tabular import TabularDataset

_FOLDER = "azureml/datasets/converted"


def to_csv_files(dataset: TabularDataset, separator: str) -> FileDataset:
    """The rows as one CSV file (header first; an empty value for a missing one)."""
    if not isinstance(separator, str) or len(separator) != 1:
        raise UserErrorException(f"separator must be one character, not {separator!r}.")
    columns, rows = dataset._table()

    def write(path: Path) -> None:
        with open(path, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, delimiter=separator)
            writer.writerow(columns)
            writer.writerows([["" if row[c] is None else row[c] for c in columns] for row in rows])

    return _publish(dataset, "to_csv_files", "part-00000.csv", write)


def to_parquet_files(dataset: TabularDataset) -> FileDataset:
    """The rows as one Parquet file (written with pyarrow)."""
    try:
        import pyarrow
        import pyarrow.parquet as parquet
    except ImportError:
        raise ImportError(
            "to_parquet_files needs pyarrow, which is not installed in this environment. "
            "[emulator] Install it where this code runs: pip install pyarrow."
        ) from None
    columns, rows = dataset._table()

    def write(path: Path) -> None:
        table = pyarrow.Table.from_pylist([{c: row[c] for c in columns} for row in rows])
        parquet.write_table(table, str(path))

    return _publish(dataset, "to_parquet_files", "part-00000.parquet", write)


def _publish(
    dataset: TabularDataset, call: str, name: str, write: Callable[[Path], None]
) -> FileDataset:
    from emulator.sdk.dataset_factory import FileDatasetFactory

    workspace = dataset._workspace
    if workspace is None:
        raise UserErrorException(
            f"{call} writes the files to the workspace's default datastore, and this dataset "
            "reads URLs only. [emulator] Create it from a datastore path: "
            "Dataset.Tabular.from_delimited_files((ws.get_default_datastore(), 'path'))."
        )
    datastore = workspace.get_default_datastore()
    folder = f"{_FOLDER}/{uuid.uuid4()}"
    with tempfile.TemporaryDirectory() as scratch:
        write(Path(scratch) / name)
        datastore.upload(scratch, folder, overwrite=True, show_progress=False)
    return FileDatasetFactory.from_files((datastore, folder))
