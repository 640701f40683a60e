"""``azureml.core.Dataset``: the entry point samples use — ``Dataset.Tabular`` /
``Dataset.File`` to create datasets, ``Dataset.get_by_name`` / ``get_by_id`` / ``get_all`` to
find registered ones (stored as the workspace's data assets, :mod:`emulator.sdk.dataset_records`).

The deprecated pre-1.0 members (``Dataset(definition)``, ``Dataset.get``,
``Dataset.from_delimited_files``, snapshots, profiles...) behave as in azureml-core 1.61, where
they are no longer supported (:mod:`emulator.sdk.dataset_legacy`).
"""

from __future__ import annotations

from emulator.sdk.dataset_abstract import AbstractDataset
from emulator.sdk.dataset_factory import FileDatasetFactory, TabularDatasetFactory
from emulator.sdk.dataset_legacy import LegacyDataset

__all__ = ["Dataset"]


class Dataset(LegacyDataset):
    """Creates datasets (``Dataset.Tabular``, ``Dataset.File``) and finds registered ones."""

    Tabular = TabularDatasetFactory
    File = FileDatasetFactory

    # The SDK binds AbstractDataset's functions here as plain class attributes, so this does too
    # (called on the class: ``Dataset.get_by_name(ws, name)``).
    get_by_name = AbstractDataset.get_by_name
    get_by_id = AbstractDataset.get_by_id
    get_all = AbstractDataset.get_all
