"""The datastore's, references' and datasets' members that deployment samples read, through
the shim: the default datastore's connection attributes, ``as_mount`` / ``as_upload``
references, ``DataPath.create_data_reference``, the factories as ``azureml.data`` names them,
``get_all``, ``take_sample``, ``partition_keys`` and ``timestamp_columns``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from emulator import mock_aml


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    base = tmp_path_factory.mktemp("dataset-members")
    data = base / "work" / "data"
    data.mkdir(parents=True)
    rows = "".join(f"{i},{'xy'[i % 2]}\n" for i in range(40))
    (data / "t.csv").write_text("a,b\n" + rows)
    (data / "ts.csv").write_text(
        "when,day,value\n"
        "2024-01-01T10:00:00,2024-01-01,1\n"
        "2024-01-02T10:00:00,2024-01-02,2\n"
        "2024-01-03T10:00:00.900000,2024-01-03,3\n"
        ",,4\n"
        "2999-01-01T00:00:00+00:00,2999-01-01,5\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(base / "work")
        with mock_aml(root=base / "root", strict=False):
            from azureml.core import Workspace

            workspace = Workspace.get("ws", subscription_id="sub", resource_group="rg")
            datastore = workspace.get_default_datastore()
            datastore.upload("data", "t", overwrite=True, show_progress=False)
            yield workspace


def test_the_default_datastore_describes_its_account(ws: Any) -> None:
    from azureml.data.azure_storage_datastore import AzureBlobDatastore

    datastore = ws.get_default_datastore()
    assert isinstance(datastore, AzureBlobDatastore)
    assert (datastore.subscription_id, datastore.resource_group) == ("sub", "rg")
    assert (datastore.protocol, datastore.endpoint) == ("https", "core.windows.net")
    # No secret is handed out offline: no key, no SAS token.
    assert (datastore.account_key, datastore.sas_token, datastore.is_sas) == (None, None, False)
    assert datastore.credential_type == "None"
    assert datastore.workspace_msi_has_access is False
    assert datastore.service_data_access_auth_identity is None
    same = AzureBlobDatastore(ws, datastore.name, datastore.container_name, datastore.account_name)
    assert same == datastore


def test_references_mount_and_upload(ws: Any) -> None:
    from azureml.data.azure_storage_datastore import DataReference
    from azureml.data.datapath import DataPath

    datastore = ws.get_default_datastore()
    mount = datastore.as_mount()
    assert isinstance(mount, DataReference)
    assert (mount.mode, mount.data_reference_name, mount.path_on_compute) == (
        "mount",
        "workspaceblobstore",
        None,
    )
    upload = datastore.as_upload(path_on_compute="outputs")
    assert (upload.mode, upload.path_on_compute, upload.overwrite) == ("upload", "outputs", False)
    reference = DataReference(datastore, data_reference_name="t", path_on_datastore="t")
    assert reference.as_upload(overwrite=True).overwrite is True
    assert reference.as_mount().mode == "mount"
    created = DataPath(datastore, "t").create_data_reference("from-path")
    assert (created.data_reference_name, created.path_on_datastore) == ("from-path", "t")


def test_factories_as_azureml_data_names_them(ws: Any, tmp_path: Path) -> None:
    from azureml.core import Dataset
    from azureml.data import FileDataset, TabularDataset
    from azureml.data.abstract_dataset import AbstractDataset
    from azureml.data.dataset_factory import FileDatasetFactory, TabularDatasetFactory

    assert (Dataset.Tabular, Dataset.File) == (TabularDatasetFactory, FileDatasetFactory)
    assert (AbstractDataset.Tabular, AbstractDataset.File) == (Dataset.Tabular, Dataset.File)
    datastore = ws.get_default_datastore()
    table = TabularDatasetFactory.from_delimited_files((datastore, "t/t.csv"))
    assert isinstance(table, TabularDataset)
    assert (table.partition_keys, table.timestamp_columns) == ([], (None, None))
    lines = tmp_path / "lines"
    lines.mkdir()
    (lines / "a.jsonl").write_text('{"id": 1}\n{"id": 2}\n')
    datastore.upload(str(lines), "lines", show_progress=False)
    from_lines = TabularDatasetFactory.from_json_lines_files((datastore, "lines/a.jsonl"))
    assert [row["id"] for row in from_lines._rows()] == [1, 2]
    sample = table.take_sample(0.5, seed=7)
    again = table.take_sample(0.5, seed=7)
    assert 0 < len(sample._rows()) < 40 and sample._rows() == again._rows()
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "one.txt").write_text("1")
    files = FileDatasetFactory.upload_directory(
        str(folder), (datastore, "uploaded"), show_progress=False
    )
    assert isinstance(files, FileDataset) and files.to_path() == ["/one.txt"]
    assert FileDatasetFactory.from_files((datastore, "uploaded")).to_path() == ["/one.txt"]
    assert files.partition_keys == [] and files.take_sample(0.5, seed=1).to_path() in (
        [],
        ["/one.txt"],
    )
    assert (TabularDataset().name, FileDataset().name) == (None, None)


def test_get_all_lists_the_registered_datasets(ws: Any) -> None:
    from azureml.core import Dataset
    from azureml.data import FileDataset, TabularDataset
    from azureml.data.abstract_dataset import AbstractDataset

    datastore = ws.get_default_datastore()
    Dataset.Tabular.from_delimited_files((datastore, "t/t.csv")).register(ws, "table")
    Dataset.File.from_files((datastore, "t")).register(ws, "files")
    everything = Dataset.get_all(ws)
    assert set(everything) >= {"table", "files"}
    assert isinstance(everything["table"], TabularDataset)
    assert isinstance(everything["files"], FileDataset)
    for lister in (AbstractDataset.get_all, TabularDataset.get_all, FileDataset.get_all):
        assert set(lister(ws)) == set(everything)


def test_data_changed_time_and_what_runs_on_azure_compute(ws: Any) -> None:
    from azureml.core import Dataset
    from azureml.data import FileDataset, TabularDataset
    from azureml.data.abstract_dataset import AbstractDataset
    from azureml.data.dataset_factory import TabularDatasetFactory
    from azureml.exceptions import UserErrorException

    datastore = ws.get_default_datastore()
    table = Dataset.Tabular.from_delimited_files((datastore, "t/t.csv"))
    files = Dataset.File.from_files((datastore, "t"))
    assert isinstance(table, AbstractDataset)
    changed = table.data_changed_time
    assert changed is not None and files.data_changed_time >= changed  # the folder's newest
    assert (files.get_partition_key_values(), table.get_partition_key_values([])) == ([], [])
    with pytest.raises(UserErrorException, match="invalid partition keys"):
        table.get_partition_key_values(["year"])
    refused = [
        (lambda: table.as_named_input("train"), "training run"),
        (lambda: files.as_named_input("train"), "training run"),
        (lambda: files.as_mount(path_on_compute="/mnt"), "training run"),
        (lambda: files.as_download(), "training run"),
        (lambda: files.as_hdfs(), "Synapse"),
        (lambda: files.as_cache(None), "datacache"),
        (lambda: files.hydrate(None), "datacache"),
        (lambda: table.get_profile(), "profile"),
        (lambda: table.get_profile_runs(ws), "profile"),
        (lambda: table.submit_profile_run("cpu", "exp"), "profile"),
        (lambda: table.to_spark_dataframe(), "Spark"),
        (lambda: TabularDatasetFactory.from_sql_query("select 1"), "SQL"),
        (lambda: TabularDatasetFactory.register_spark_dataframe(None, None, "n"), "Spark"),
    ]
    for call, reason in refused:
        with pytest.raises(UserErrorException, match=f"is not emulated: .*{reason}"):
            call()
    assert isinstance(files, FileDataset) and isinstance(table, TabularDataset)


def _values(dataset: Any) -> list[str]:
    return [row["value"] for row in dataset._rows()]


def test_time_series_filters_keep_the_rows_in_range(ws: Any) -> None:
    from azureml.core import Dataset
    from azureml.data import TabularDataset
    from azureml.exceptions import DatasetTimestampMissingError, UserErrorException

    table = Dataset.Tabular.from_delimited_files((ws.get_default_datastore(), "t/ts.csv"))
    with pytest.raises(DatasetTimestampMissingError, match="without timestamp columns defined"):
        table.time_after(datetime(2024, 1, 1))
    assert str(DatasetTimestampMissingError("x")) == "Activity Failed:\nx"
    series = table.with_timestamp_columns(timestamp="when", validate=True)
    assert isinstance(series, TabularDataset)
    assert series.timestamp_columns == ("when", None) and table.timestamp_columns == (None, None)
    start, end = datetime(2024, 1, 2, 10), datetime(2024, 1, 3, 10, 0, 0, 900000)
    assert _values(series.time_between(start, end)) == [2, 3]
    assert _values(series.time_between(start, end, include_boundary=False)) == []
    assert _values(series.time_after(start)) == [2, 3, 5]
    assert _values(series.time_before(start, include_boundary=False)) == [1]
    assert _values(series.time_recent(timedelta(days=1))) == [5]
    # The partition timestamp is compared with bounds rounded to the second as well.
    both = table.with_timestamp_columns(timestamp="when", partition_timestamp="day")
    assert both.timestamp_columns == ("when", "day")
    assert _values(both.time_before(datetime(2024, 1, 2, 12))) == [1, 2]
    # Row 1's day (2024-01-01T00:00) is before the bound although its time is after it.
    assert _values(series.time_after(datetime(2024, 1, 1, 9))) == [1, 2, 3, 5]
    assert _values(both.time_after(datetime(2024, 1, 1, 9))) == [2, 3, 5]
    cleared = series.with_timestamp_columns()
    assert cleared.timestamp_columns == (None, None)
    old_names = table.with_timestamp_columns(fine_grain_timestamp="when")
    assert old_names.timestamp_columns == ("when", None)
    with pytest.raises(UserErrorException, match="only if timestamp is assigned"):
        table.with_timestamp_columns(partition_timestamp="day")
    with pytest.raises(UserErrorException, match="cannot be the same as timestamp"):
        table.with_timestamp_columns(timestamp="when", partition_timestamp="when")
    with pytest.raises(UserErrorException, match="'value' is not a datetime column"):
        table.with_timestamp_columns(timestamp="value", validate=True)


def test_a_table_converts_to_csv_and_parquet_files(ws: Any, tmp_path: Path) -> None:
    import importlib.util

    from azureml.core import Dataset
    from azureml.data import FileDataset

    datastore = ws.get_default_datastore()
    table = Dataset.Tabular.from_delimited_files((datastore, "t/ts.csv")).take(2)
    files = table.to_csv_files(separator=";")
    assert isinstance(files, FileDataset) and files.to_path() == ["/part-00000.csv"]
    files.download(str(tmp_path / "csv"))
    assert (tmp_path / "csv" / "part-00000.csv").read_text().splitlines() == [
        "when;day;value",
        "2024-01-01T10:00:00;2024-01-01;1",
        "2024-01-02T10:00:00;2024-01-02;2",
    ]
    if importlib.util.find_spec("pyarrow") is None:
        with pytest.raises(ImportError, match="pip install pyarrow"):
            table.to_parquet_files()
    else:
        parquet = table.to_parquet_files()
        assert parquet.to_path() == ["/part-00000.parquet"]
        parquet.download(str(tmp_path / "pq"))
        assert (tmp_path / "pq" / "part-00000.parquet").read_bytes()[:4] == b"PAR1"
