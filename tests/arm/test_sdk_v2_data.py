"""Data assets through the real ``azure-ai-ml`` client: local files and folders uploaded to the
default datastore as the SDK does, datastore and https paths kept as given, versions handed out
and kept immutable as Azure does, and a registered asset read back as files by the input
resolver the batch job engine uses."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.ai.ml import MLClient
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import Data
from azure.ai.ml.exceptions import MlException
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential

from emulator.assets.inputs import materialize
from emulator.daemon.server import EmulatorServer
from emulator.state import workspace_states

SUB = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def client(arm_server: EmulatorServer, v2_env: dict[str, str]) -> MLClient:
    return MLClient(DefaultAzureCredential(), SUB, "rg", "ws")


def _files(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _read_back(server: EmulatorServer, uri: str, kind: str, into: Path) -> dict[str, str]:
    state = workspace_states(server.root).get(SUB, "rg", "ws")
    assert state is not None
    materialize(server.root, state.id, uri, kind, into)
    return _files(into)


def test_a_local_file_is_uploaded_and_reads_back_as_that_file(
    client: MLClient, arm_server: EmulatorServer, tmp_path: Path
) -> None:
    source = tmp_path / "scores.csv"
    source.write_text("a,b\n1,2\n")
    created = client.data.create_or_update(
        Data(name="scores", version="1", type=AssetTypes.URI_FILE, path=str(source))
    )
    assert created.path.startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
    assert created.path.endswith("/scores.csv")
    fetched = client.data.get("scores", "1")
    assert (fetched.type, fetched.path) == ("uri_file", created.path)
    assert _read_back(arm_server, "azureml:scores:1", "uri_file", tmp_path / "in") == {
        "scores.csv": "a,b\n1,2\n"
    }


def test_a_local_folder_keeps_its_tree_and_an_mltable_its_mltable_file(
    client: MLClient, arm_server: EmulatorServer, tmp_path: Path
) -> None:
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    (folder / "1.txt").write_text("one")
    (folder / "sub" / "2.txt").write_text("two")
    client.data.create_or_update(Data(name="imgs", type=AssetTypes.URI_FOLDER, path=str(folder)))
    assert _read_back(arm_server, "azureml:imgs@latest", "uri_folder", tmp_path / "in") == {
        "1.txt": "one",
        "sub/2.txt": "two",
    }
    table = tmp_path / "table"
    table.mkdir()
    (table / "MLTable").write_text("paths:\n  - file: ./rows.csv\n")
    (table / "rows.csv").write_text("x\n1\n")
    created = client.data.create_or_update(
        Data(name="tab", version="1", type=AssetTypes.MLTABLE, path=str(table))
    )
    assert client.data.get("tab", "1").type == "mltable"
    assert _read_back(arm_server, created.id, "mltable", tmp_path / "tab") == {
        "MLTable": "paths:\n  - file: ./rows.csv\n",
        "rows.csv": "x\n1\n",
    }


def test_versions_are_handed_out_latest_resolves_and_lists_show_them(
    client: MLClient, tmp_path: Path
) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("a")
    b.write_text("b")
    first = client.data.create_or_update(Data(name="d", type=AssetTypes.URI_FILE, path=str(a)))
    second = client.data.create_or_update(Data(name="d", type=AssetTypes.URI_FILE, path=str(b)))
    assert (first.version, second.version) == ("1", "2")
    assert client.data.get("d", label="latest").path.endswith("/b.csv")
    assert [d.version for d in client.data.list("d")] == ["2", "1"]
    client.data.create_or_update(
        Data(name="other", version="7", type=AssetTypes.URI_FOLDER, path="https://h.test/x/")
    )
    containers = {d.name: (d.type, d.latest_version) for d in client.data.list()}
    assert containers == {"d": ("uri_file", "2"), "other": ("uri_folder", "7")}


def test_datastore_and_https_paths_are_registered_as_given(client: MLClient) -> None:
    uri = "azureml://datastores/workspaceblobstore/paths/inputs/day-1/"
    client.data.create_or_update(Data(name="ds", version="1", type="uri_folder", path=uri))
    client.data.create_or_update(
        Data(name="web", version="1", type="uri_file", path="https://example.test/t.csv")
    )
    assert client.data.get("ds", "1").path == uri
    assert client.data.get("web", "1").path == "https://example.test/t.csv"


def test_a_version_s_path_cannot_change_but_its_description_and_tags_can(
    client: MLClient,
) -> None:
    client.data.create_or_update(
        Data(name="d", version="1", type="uri_file", path="https://h.test/a.csv")
    )
    with pytest.raises(ResourceExistsError, match="data uri cannot be changed"):
        client.data.create_or_update(
            Data(name="d", version="1", type="uri_file", path="https://h.test/b.csv")
        )
    client.data.create_or_update(
        Data(
            name="d",
            version="1",
            type="uri_file",
            path="https://h.test/a.csv",
            description="day one",
            tags={"team": "x"},
        )
    )
    fetched = client.data.get("d", "1")
    assert (fetched.path, fetched.description, fetched.tags) == (
        "https://h.test/a.csv",
        "day one",
        {"team": "x"},
    )


def test_archived_versions_leave_the_default_listing(client: MLClient) -> None:
    for version in ("1", "2"):
        client.data.create_or_update(
            Data(name="d", version=version, type="uri_file", path=f"https://h.test/{version}")
        )
    client.data.archive("d", "1")
    assert [d.version for d in client.data.list("d")] == ["2"]
    client.data.restore("d", "1")
    assert [d.version for d in client.data.list("d")] == ["2", "1"]


def test_unknown_data_is_arms_not_found(client: MLClient) -> None:
    with pytest.raises(ResourceNotFoundError, match="workspaces/ws/data/nope/versions/1"):
        client.data.get("nope", "1")
    with pytest.raises(MlException, match="nope does not exist in workspace ws"):
        client.data.get("nope", label="latest")
