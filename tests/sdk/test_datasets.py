"""Datastores and datasets through the shim, as deployment samples use them: upload to the
default datastore, tabular and file datasets over it, registration and lookup."""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator import mock_aml


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A workspace on a fresh root, working in a folder with two CSV files and a text file."""
    data = tmp_path / "work" / "data"
    (data / "more").mkdir(parents=True)
    (data / "iris.csv").write_text("sepal,petal,species\n5.1,1.4,setosa\n7.0,4.7,versicolor\n")
    (data / "more" / "extra.csv").write_text("sepal,petal,species\n6.3,,virginica\n")
    (data / "notes.txt").write_text("not a table")
    monkeypatch.chdir(tmp_path / "work")
    with mock_aml(root=tmp_path / "root", strict=False):
        from azureml.core import Workspace

        yield Workspace.get("ws", subscription_id="sub", resource_group="rg")


def _upload(ws: Any) -> Any:
    from azureml.core import Datastore

    datastore = Datastore.get_default(ws)
    datastore.upload(src_dir="data", target_path="iris", overwrite=True, show_progress=False)
    return datastore


def test_the_default_datastore_is_one_object_whichever_way_it_is_asked_for(ws: Any) -> None:
    from azureml.core import Datastore
    from azureml.core.datastore import Datastore as SameDatastore
    from azureml.data.azure_storage_datastore import AzureBlobDatastore

    default = Datastore.get_default(ws)
    assert isinstance(default, AzureBlobDatastore) and Datastore is SameDatastore
    assert default == ws.get_default_datastore() == Datastore.get(ws, "workspaceblobstore")
    assert default == Datastore(ws, "workspaceblobstore")
    assert list(ws.datastores) == ["workspaceblobstore"]
    assert default.container_name.startswith("azureml-blobstore-")
    assert (default.name, default.datastore_type, default.account_name) == (
        "workspaceblobstore",
        "AzureBlob",
        "wsstorage",
    )
    with pytest.raises(Exception, match=r"'mystore' was not found.*get_default") as raised:
        Datastore.get(ws, "mystore")
    assert type(raised.value).__name__ == "UserErrorException"


def test_upload_keeps_the_tree_skips_existing_blobs_and_download_brings_them_back(
    ws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    datastore = ws.get_default_datastore()
    reference = datastore.upload("data", target_path="iris", overwrite=False, show_progress=True)
    assert reference.path_on_datastore == "iris" and reference.datastore == datastore
    out = capsys.readouterr().out
    assert "Uploading an estimated of 3 files" in out and "Uploaded 3 files" in out
    Path("data/iris.csv").write_text("changed\n")
    datastore.upload("data", target_path="iris", show_progress=True)  # overwrite=False
    assert "Target already exists. Skipping upload for iris/iris.csv" in capsys.readouterr().out
    count = datastore.download(str(tmp_path / "down"), prefix="iris", show_progress=False)
    assert count == 3
    assert (tmp_path / "down/iris/iris.csv").read_text().startswith("sepal,petal")  # not replaced
    assert (tmp_path / "down/iris/more/extra.csv").is_file()
    datastore.upload("data", target_path="iris", overwrite=True, show_progress=False)
    assert datastore.download(tmp_path / "down", prefix="iris/iris", show_progress=False) == 0
    assert datastore.download(tmp_path / "down", "iris/iris", True, False) == 1
    assert (tmp_path / "down/iris/iris.csv").read_text() == "changed\n"


def test_upload_files_places_files_relative_to_their_root(ws: Any, tmp_path: Path) -> None:
    datastore = ws.get_default_datastore()
    datastore.upload_files(
        ["data/iris.csv", "data/more/extra.csv"],
        relative_root="data",
        target_path="flat/",
        overwrite=True,
        show_progress=False,
    )
    assert datastore.download(tmp_path / "d", prefix="flat", show_progress=False) == 2
    assert (tmp_path / "d/flat/more/extra.csv").is_file()
    with pytest.raises(Exception, match="does not point to a file"):
        datastore.upload_files(["data/missing.csv"], show_progress=False)
    with pytest.raises(Exception, match="relative_root: 'data/more' is not part of"):
        datastore.upload_files(["data/iris.csv"], relative_root="data/more", show_progress=False)
    with pytest.raises(Exception, match="src_path must be a directory"):
        datastore.upload("data/iris.csv", show_progress=False)


def test_a_tabular_dataset_reads_globbed_csv_files_with_inferred_types(ws: Any) -> None:
    from azureml.core import Dataset
    from azureml.data import TabularDataset

    datastore = _upload(ws)
    table = Dataset.Tabular.from_delimited_files(path=[(datastore, "iris/**/*.csv")])
    assert isinstance(table, TabularDataset)
    columns, rows = table._table()
    assert columns == ["sepal", "petal", "species"]
    assert rows == [
        {"sepal": 5.1, "petal": 1.4, "species": "setosa"},
        {"sepal": 7.0, "petal": 4.7, "species": "versicolor"},
        {"sepal": 6.3, "petal": None, "species": "virginica"},
    ]
    top_only = Dataset.Tabular.from_delimited_files((datastore, "iris/*.csv"), include_path=True)
    assert top_only.take(1)._rows() == [
        {"Path": "/iris.csv", "sepal": 5.1, "petal": 1.4, "species": "setosa"}
    ]
    assert table.skip(2).keep_columns("species")._rows() == [{"species": "virginica"}]
    assert table.drop_columns(["petal", "species"])._rows()[0] == {"sepal": 5.1}
    first, second = table.random_split(0.5, seed=7)
    assert len(first._rows()) + len(second._rows()) == 3
    assert first._rows() == table.random_split(0.5, seed=7)[0]._rows()


def test_a_path_with_no_data_or_of_a_wrong_form_fails_when_the_dataset_is_created(
    ws: Any,
) -> None:
    from azureml.core import Dataset
    from azureml.data.datapath import DataPath

    datastore = _upload(ws)
    with pytest.raises(Exception, match=r"Cannot load any data from the specified path.*upload"):
        Dataset.Tabular.from_delimited_files(path=DataPath(datastore, "nothing/*.csv"))
    with pytest.raises(Exception, match=r"Invalid argument type for `path`.*upload"):
        Dataset.File.from_files(path="data/iris.csv")
    with pytest.raises(Exception, match="serve-url"):
        Dataset.File.from_files(path="https://example.com/iris.csv")
    lazy = Dataset.File.from_files(path=(datastore, "later/"), validate=False)
    with pytest.raises(Exception, match="Cannot load any data"):
        lazy.to_path()


def test_a_file_dataset_lists_downloads_and_mounts_its_files(ws: Any, tmp_path: Path) -> None:
    from azureml.core import Dataset
    from azureml.data import FileDataset

    datastore = _upload(ws)
    files = Dataset.File.from_files(path=datastore.path("iris"))
    assert isinstance(files, FileDataset)
    assert files.to_path() == ["/iris.csv", "/more/extra.csv", "/notes.txt"]
    assert Dataset.File.from_files((datastore, "iris/iris.csv")).to_path() == ["/iris.csv"]
    written = files.download(target_path=str(tmp_path / "got"), overwrite=False)
    assert sorted(Path(p).relative_to(tmp_path / "got").as_posix() for p in written) == [
        "iris.csv",
        "more/extra.csv",
        "notes.txt",
    ]
    with pytest.raises(Exception, match=r"File already exists.*overwrite=True"):
        files.download(target_path=str(tmp_path / "got"))
    assert len(files.download(tmp_path / "got", overwrite=True)) == 3
    with files.take(1).mount() as mounted:
        assert os.listdir(mounted.mount_point) == ["iris.csv"]
        point = mounted.mount_point
    assert not os.path.exists(point)


def test_register_versions_and_lookup_by_name_id_and_ws_datasets(ws: Any) -> None:
    from azureml.core import Dataset

    datastore = _upload(ws)
    table = Dataset.Tabular.from_delimited_files(path=[(datastore, "iris/iris.csv")])
    assert (table.name, table.version, table.id) == (None, None, None)
    registered = table.register(
        workspace=ws, name="iris", description="flowers", tags={"src": "uci"}
    )
    assert (registered.name, registered.version, registered.description) == ("iris", 1, "flowers")
    assert registered.tags == {"src": "uci"} and len(registered.id) == 36
    with pytest.raises(
        Exception, match=r'already a dataset registered under name "iris".*create_new'
    ):
        table.register(ws, "iris")
    same = table.register(ws, "iris", create_new_version=True)
    assert same.version == 1  # an identical definition is not a new version
    smaller = table.take(1).register(ws, "iris", create_new_version=True)
    assert smaller.version == 2 and smaller.id != registered.id
    latest = Dataset.get_by_name(ws, name="iris")
    assert (latest.version, len(latest._rows())) == (2, 1)
    first = Dataset.get_by_name(ws, "iris", version=1)
    assert len(first._rows()) == 2 and first.description == "flowers"
    assert Dataset.get_by_id(ws, id=registered.id).version == 1
    files = Dataset.File.from_files((datastore, "iris")).register(ws, "iris-files")
    assert set(ws.datasets) == {"iris", "iris-files"}
    assert ws.datasets["iris-files"].to_path() == files.to_path()
    assert type(ws.datasets["iris"]).__name__ == "TabularDataset"
    first.update(description="v1 of the flowers", tags={"stage": "old"})
    again = Dataset.get_by_name(ws, "iris", 1)
    assert (again.description, again.tags) == ("v1 of the flowers", {"stage": "old"})
    again.add_tags({"more": "x"}).remove_tags(["stage"])
    assert Dataset.get_by_name(ws, "iris", 1).tags == {"more": "x"}
    with pytest.raises(
        Exception, match=r'Cannot find dataset registered with name "iris" \(version: 9\)'
    ):
        Dataset.get_by_name(ws, "iris", version=9)
    with pytest.raises(Exception, match='Cannot find dataset with id "nope"'):
        Dataset.get_by_id(ws, "nope")
    with pytest.raises(Exception, match="To update this dataset it must be registered"):
        table.update(description="x")


def test_to_pandas_dataframe_names_the_fix_without_pandas_and_builds_one_with_it(
    ws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azureml.core import Dataset

    table = Dataset.Tabular.from_delimited_files(path=(_upload(ws), "iris/iris.csv"))
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if pandas were not installed
    with pytest.raises(ImportError, match="pip install pandas"):
        table.to_pandas_dataframe()
    built: list[tuple[Any, Any]] = []

    class DataFrame:
        @staticmethod
        def from_records(rows: Any, columns: Any) -> str:
            built.append((rows, columns))
            return "frame"

    monkeypatch.setitem(sys.modules, "pandas", types.SimpleNamespace(DataFrame=DataFrame))
    assert table.to_pandas_dataframe() == "frame"
    assert built == [
        (
            [
                {"sepal": 5.1, "petal": 1.4, "species": "setosa"},
                {"sepal": 7.0, "petal": 4.7, "species": "versicolor"},
            ],
            ["sepal", "petal", "species"],
        )
    ]


def test_other_datastores_cannot_be_registered_offline_and_the_default_stays(ws: Any) -> None:
    from azureml.core import Datastore
    from azureml.exceptions import UserErrorException

    with pytest.raises(UserErrorException, match=r"'blobs' \(Azure Blob container\).*upload"):
        Datastore.register_azure_blob_container(
            ws, datastore_name="blobs", container_name="c", account_name="a", account_key="k"
        )
    with pytest.raises(UserErrorException, match="cannot be registered"):
        Datastore.register_azure_sql_database(ws, "sql", "server", "db", username="u")
    with pytest.raises(UserErrorException, match="cannot be registered"):
        Datastore.register_dbfs(ws, "dbfs")
    default = ws.get_default_datastore()
    assert (default.workspace, default.name) == (ws, "workspaceblobstore")
    default.set_as_default()
    ws.set_default_datastore("workspaceblobstore")
    with pytest.raises(UserErrorException, match="'other' was not found"):
        ws.set_default_datastore("other")
    with pytest.raises(UserErrorException, match="can not be unregistered"):
        default.unregister()


def test_references_and_data_paths_name_the_same_place(ws: Any) -> None:
    from azureml.core import Dataset
    from azureml.data.data_reference import DataReference
    from azureml.data.datapath import DataPath

    datastore = _upload(ws)
    path = DataPath(datastore=datastore, path_on_datastore="iris/more", name="more")
    reference = DataReference.create(data_reference_name="more", datapath=path)
    assert (reference.path_on_datastore, reference.mode, str(reference)) == (
        "iris/more",
        "mount",
        "$AZUREML_DATAREFERENCE_more",
    )
    assert reference.as_download(path_on_compute="/tmp/x").to_config()["mode"] == "download"
    assert datastore.path("iris").path("more").path_on_datastore == "iris/more"
    for given in (path, reference, (datastore, "iris/more")):
        assert Dataset.File.from_files(path=given).to_path() == ["/extra.csv"]
    assert DataPath.create_from_data_reference(reference).datastore_name == "workspaceblobstore"


def test_unregister_all_versions_frees_the_name(ws: Any) -> None:
    from azureml.core import Dataset

    files = Dataset.File.from_files((_upload(ws), "iris"))
    first = files.register(ws, "files")
    files.take(1).register(ws, "files", create_new_version=True)
    first.unregister_all_versions()
    assert first.name is None and "files" not in ws.datasets
    with pytest.raises(Exception, match='Cannot find dataset registered with name "files"'):
        Dataset.get_by_name(ws, "files")
    with pytest.raises(Exception, match="Cannot find dataset with id"):
        Dataset.get_by_id(ws, files.register(ws, "other").id.replace("-", "0"))
    again = files.register(ws, "files")  # no create_new_version needed: the name is free
    assert Dataset.get_by_name(ws, "files").id == again.id


def test_json_lines_parquet_and_a_registered_dataframe(
    ws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azureml.core import Dataset
    from azureml.data.datapath import DataPath

    datastore = ws.get_default_datastore()
    Path("lines").mkdir()
    Path("lines/a.jsonl").write_text('{"id": 1, "tag": "x"}\n\n{"id": 2, "extra": true}\n')
    Path("lines/bad.jsonl").write_text('{"id": 3}\n[1, 2]\n')
    datastore.upload("lines", "lines", show_progress=False)
    table = Dataset.Tabular.from_json_lines_files((datastore, "lines/a.jsonl"))
    assert table._table() == (
        ["id", "tag", "extra"],
        [{"id": 1, "tag": "x", "extra": None}, {"id": 2, "tag": None, "extra": True}],
    )
    with pytest.raises(Exception, match=r"Line 2 of /bad\.jsonl is not a JSON object"):
        Dataset.Tabular.from_json_lines_files((datastore, "lines/bad.jsonl"))
    dropped = Dataset.Tabular.from_json_lines_files(
        (datastore, "lines/bad.jsonl"), invalid_lines="drop"
    )
    assert dropped._rows() == [{"id": 3}]
    registered = table.register(ws, "lines")
    Path("down").mkdir()
    datastore.download("down", prefix="azureml/datasets/lines/1/", show_progress=False)
    mltable = Path("down/azureml/datasets/lines/1/MLTable").read_text()
    assert "read_json_lines" in mltable
    assert Dataset.get_by_name(ws, "lines")._rows() == registered._rows()

    Path("pq").mkdir()
    Path("pq/t.parquet").write_bytes(b"PAR1")
    datastore.upload("pq", "pq", show_progress=False)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if pyarrow were not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match="pip install pyarrow"):
        Dataset.Tabular.from_parquet_files(path=(datastore, "pq/*.parquet"))

    class Frame:  # what register_pandas_dataframe uses of a DataFrame
        def to_csv(self, path: str, index: bool) -> None:
            assert index is False
            Path(path).write_text("a,b\n1,x\n2,y\n")

    frame = Dataset.Tabular.register_pandas_dataframe(
        Frame(),
        DataPath(datastore, "frames"),
        "frame",
        description="from pandas",
        show_progress=False,
    )
    assert (frame.name, frame.version, frame.description) == ("frame", 1, "from pandas")
    assert frame._rows() == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    second = Dataset.Tabular.register_pandas_dataframe(
        Frame(), (datastore, "frames"), "frame", show_progress=False
    )
    assert second.version == 2  # a unique folder per call: a new version
    with pytest.raises(Exception, match="must be a pandas DataFrame"):
        Dataset.Tabular.register_pandas_dataframe([1], (datastore, "f"), "x")
