"""One record, two faces: what SDK v1 puts on the default datastore and registers as datasets
is what the real ``azure-ai-ml`` reads (datastore paths, data assets of the type the service
maps them to), and data azure-ai-ml uploads and registers is a v1 dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from azure.ai.ml import MLClient
from azure.ai.ml._artifacts._artifact_utilities import download_artifact_from_aml_uri
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import Data
from azure.identity import DefaultAzureCredential

from emulator import mock_aml
from emulator.assets.inputs import materialize
from emulator.daemon.server import EmulatorServer
from emulator.state import workspace_states

SUB = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def client(arm_server: EmulatorServer, v2_env: dict[str, str]) -> MLClient:
    return MLClient(DefaultAzureCredential(), SUB, "rg", "ws")


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "work" / "data"
    (folder / "more").mkdir(parents=True)
    (folder / "iris.csv").write_text("sepal,species\n5.1,setosa\n")
    (folder / "more" / "extra.csv").write_text("sepal,species\n6.3,virginica\n")
    monkeypatch.chdir(folder.parent)
    return folder


def _workspace() -> Any:
    from azureml.core import Workspace

    return Workspace.get("ws", subscription_id=SUB, resource_group="rg")


def test_a_v1_upload_is_read_by_azure_ai_ml_at_its_datastore_path(
    client: MLClient, data: Path, tmp_path: Path
) -> None:
    with mock_aml():  # the root arm_server serves
        _workspace().get_default_datastore().upload("data", "v1/iris", show_progress=False)
    got = tmp_path / "got"
    download_artifact_from_aml_uri(
        "azureml://datastores/workspaceblobstore/paths/v1/iris/", str(got), client.datastores
    )
    files = sorted(p.relative_to(got).as_posix() for p in got.rglob("*") if p.is_file())
    assert files == ["iris.csv", "more/extra.csv"]
    assert (got / "iris.csv").read_text() == "sepal,species\n5.1,setosa\n"


def test_v1_datasets_are_data_assets_of_the_mapped_type(
    client: MLClient, arm_server: EmulatorServer, data: Path, tmp_path: Path
) -> None:
    with mock_aml():
        from azureml.core import Dataset

        store = _workspace().get_default_datastore()
        store.upload("data", "v1", show_progress=False)
        one_file = Dataset.File.from_files((store, "v1/iris.csv")).register(_workspace(), "one")
        folder = Dataset.File.from_files((store, "v1")).register(_workspace(), "folder")
        table = Dataset.Tabular.from_delimited_files([(store, "v1/**/*.csv")]).register(
            _workspace(), "table", description="all flowers", tags={"kind": "tabular"}
        )
    as_file = client.data.get("one", "1")
    assert (as_file.type, as_file.path) == (
        AssetTypes.URI_FILE,
        "azureml://datastores/workspaceblobstore/paths/v1/iris.csv",
    )
    as_folder = client.data.get("folder", version=str(folder.version))
    assert (as_folder.type, as_folder.path) == (
        AssetTypes.URI_FOLDER,
        "azureml://datastores/workspaceblobstore/paths/v1/",
    )
    as_table = client.data.get("table", label="latest")
    assert as_table.type == AssetTypes.MLTABLE
    assert (as_table.description, as_table.tags) == ("all flowers", {"kind": "tabular"})
    got = tmp_path / "mltable"
    download_artifact_from_aml_uri(as_table.path, str(got), client.datastores)
    mltable = yaml.safe_load(next(got.rglob("MLTable")).read_text())
    assert mltable["paths"] == [
        {"pattern": "azureml://datastores/workspaceblobstore/paths/v1/**/*.csv"}
    ]
    assert mltable["transformations"][0]["read_delimited"]["header"] == "all_files_same_headers"
    assert {d.name for d in client.data.list()} >= {"one", "folder", "table"}
    state = workspace_states(arm_server.root).get(SUB, "rg", "ws")
    assert state is not None
    read = materialize(arm_server.root, state.id, "azureml:one:1", "uri_file", tmp_path / "in")
    assert [p.read_text() for p in read] == ["sepal,species\n5.1,setosa\n"]
    assert one_file.id != table.id


def test_azure_ai_ml_data_is_a_v1_dataset(client: MLClient, data: Path) -> None:
    created = client.data.create_or_update(
        Data(name="uploaded", version="3", type=AssetTypes.URI_FOLDER, path=str(data))
    )
    table_folder = data.parent / "t"
    table_folder.mkdir()
    (table_folder / "a.csv").write_text("x;y\n1;yes\n2;no\n")
    (table_folder / "MLTable").write_text(
        "paths:\n- pattern: ./*.csv\ntransformations:\n- read_delimited:\n    delimiter: ';'\n"
        "- take: 1\n"
    )
    client.data.create_or_update(
        Data(name="tbl", version="1", type=AssetTypes.MLTABLE, path=str(table_folder))
    )
    with mock_aml():
        from azureml.core import Dataset

        ws = _workspace()
        files = Dataset.get_by_name(ws, "uploaded", version=3)
        assert type(files).__name__ == "FileDataset"
        assert files.to_path() == ["/iris.csv", "/more/extra.csv"]
        assert "uploaded" in ws.datasets
        short = created.path.rstrip("/") + "/iris.csv"  # azureml://datastores/...: no workspace
        with pytest.raises(Exception, match=r"needs a workspace.*long form"):
            Dataset.Tabular.from_delimited_files(path=short)
        long_form = short.replace(
            "azureml://", f"azureml://subscriptions/{SUB}/resourcegroups/rg/workspaces/ws/"
        )
        table = Dataset.Tabular.from_delimited_files(path=long_form)
        assert table._rows() == [{"sepal": 5.1, "species": "setosa"}]
        mltable = Dataset.get_by_name(ws, "tbl")
        assert type(mltable).__name__ == "TabularDataset"
        assert mltable._rows() == [{"x": 1, "y": "yes"}]
