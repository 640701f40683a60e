"""``azureml.data``: the dataset classes and their modules' names (``azureml.data.TabularDataset``,
``azureml.data.file_dataset.FileDataset``...), for the import shim."""

from emulator.sdk.dataset_abstract import AbstractDataset
from emulator.sdk.dataset_factory import FileDatasetFactory, TabularDatasetFactory
from emulator.sdk.dataset_file import FileDataset
from emulator.sdk.dataset_tabular import TabularDataset
from emulator.sdk.datastore import AzureBlobDatastore
from emulator.sdk.datastore_reference import DataPath, DataReference

__all__ = [
    "AbstractDataset",
    "AzureBlobDatastore",
    "DataPath",
    "DataReference",
    "FileDataset",
    "FileDatasetFactory",
    "TabularDataset",
    "TabularDatasetFactory",
]
