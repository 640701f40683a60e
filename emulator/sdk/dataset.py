"""``azureml.core.Dataset``: the entry point samples use — ``Dataset.Tabular`` /
``Dataset.File`` to create datasets, ``Dataset.get_by_name`` / ``get_by_id`` / ``get_all`` to
find registered ones (stored as the workspace's data assets, :mod:`emulator.sdk.dataset_records`).

[emulator] The deprecated pre-1.0 ``Dataset`` objects (``Dataset(definition)``,
``Dataset.from_delimited_files``, snapshots, profiles, ``to_spark_dataframe``) are not emulated.
"""

from __future__ import annotations

from emulator.sdk.dataset_abstract import AbstractDataset
from emulator.sdk.dataset_factory import FileDatasetFactory, TabularDatasetFactory

__all__ = ["Dataset"]


class Dataset:
    """Creates datasets (``Dataset.Tabular``, ``Dataset.File``) and finds registered ones."""

    Tabular = TabularDatasetFactory
    File = FileDatasetFactory

    # The SDK binds AbstractDataset's functions here as plain class attributes, so this does too
    # (called on the class: ``Dataset.get_by_name(ws, name)``).
    get_by_name = AbstractDataset.get_by_name
    get_by_id = AbstractDataset.get_by_id
    get_all = AbstractDataset.get_all
