"""Models through the real ``azure-ai-ml`` client: uploads to the default datastore's blob
plane, registration in the workspace's model registry (shared with SDK v1), lookups, errors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from azure.ai.ml import MLClient
from azure.ai.ml.entities import Model
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential

import emulator
from emulator.daemon.server import EmulatorServer
from emulator.state import workspace_states

SUB = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def client(arm_server: EmulatorServer, v2_env: dict[str, str]) -> MLClient:
    return MLClient(DefaultAzureCredential(), SUB, "rg", "ws")


def _blob_puts(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Put Blob / Put Block requests the blob plane answered (its log lines)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith("PUT /")
        and ".blob." in r.getMessage()
        and "comp=" not in r.getMessage()
    ]


def test_a_local_file_is_uploaded_registered_and_read_back(
    client: MLClient, arm_server: EmulatorServer, tmp_path: Path
) -> None:
    weights = tmp_path / "model.pkl"
    weights.write_bytes(b"weights v1")
    created = client.models.create_or_update(
        Model(path=str(weights), name="churn", version="1", tags={"team": "crm"})
    )
    assert (created.name, created.version, created.tags) == ("churn", "1", {"team": "crm"})
    assert created.path.endswith(
        "/datastores/workspaceblobstore/paths/azureml-models/churn/1/model.pkl"
    )
    fetched = client.models.get("churn", "1")
    assert (fetched.name, fetched.version, fetched.path) == ("churn", "1", created.path)
    state = workspace_states(arm_server.root).get(SUB, "rg", "ws")
    assert state is not None
    record = state.models.get("churn", 1)
    assert record is not None
    out = state.models.materialize(record, tmp_path / "out")
    assert out.read_bytes() == b"weights v1"  # the registered file is the uploaded one


def test_a_folder_keeps_its_layout(
    client: MLClient, arm_server: EmulatorServer, tmp_path: Path
) -> None:
    folder = tmp_path / "bundle"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("b")
    created = client.models.create_or_update(Model(path=str(folder), name="bundle", version="1"))
    assert created.path.endswith("/paths/azureml-models/bundle/1/bundle/")
    state = workspace_states(arm_server.root).get(SUB, "rg", "ws")
    assert state is not None
    record = state.models.get("bundle", 1)
    assert record is not None
    assert sorted(f.path for f in record.files) == ["bundle/a.txt", "bundle/sub/b.txt"]
    client.models.download("bundle", "1", download_path=str(tmp_path / "dl"))
    assert (tmp_path / "dl" / "bundle" / "bundle" / "sub" / "b.txt").read_text() == "b"


def test_an_unchanged_upload_is_skipped_and_versions_are_listed(
    client: MLClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="emulator.arm")
    weights = tmp_path / "model.pkl"
    weights.write_bytes(b"same bytes")
    client.models.create_or_update(Model(path=str(weights), name="m", version="1"))
    assert len(_blob_puts(caplog)) == 1
    caplog.clear()
    second = client.models.create_or_update(Model(path=str(weights), name="m", version="2"))
    assert second.version == "2"
    assert _blob_puts(caplog) == []  # the blob's upload confirmation said: already there
    assert [(m.name, m.version) for m in client.models.list("m")] == [("m", "2"), ("m", "1")]


def test_models_are_shared_between_sdk_v1_and_v2(client: MLClient, workdir: Path) -> None:
    weights = workdir / "v2.pkl"
    weights.write_bytes(b"from v2")
    client.models.create_or_update(Model(path=str(weights), name="from-v2", version="1"))
    (workdir / "v1.pkl").write_bytes(b"from v1")
    with emulator.mock_aml():
        workspace = emulator.Workspace.get("ws", subscription_id=SUB, resource_group="rg")
        assert [(m.name, m.version) for m in emulator.Model.list(workspace)] == [("from-v2", 1)]
        emulator.Model.register(workspace, "v1.pkl", "from-v1")
    assert client.models.get("from-v1", "1").path.endswith("/azureml-models/from-v1/1/v1.pkl")
    client.models.download("from-v1", "1", download_path=str(workdir / "dl"))
    assert (workdir / "dl" / "from-v1" / "v1.pkl").read_bytes() == b"from v1"


def test_unknown_model_is_arms_not_found(client: MLClient) -> None:
    with pytest.raises(ResourceNotFoundError) as raised:
        client.models.get("nope", "3")
    assert raised.value.error is not None and raised.value.error.code == "ResourceNotFound"
    assert raised.value.error.message == (
        "The Resource 'Microsoft.MachineLearningServices/workspaces/ws/models/nope/versions/3' "
        "under resource group 'rg' was not found."
    )


def test_a_version_out_of_sequence_is_refused_with_the_next_one(
    client: MLClient, tmp_path: Path
) -> None:
    weights = tmp_path / "model.pkl"
    weights.write_bytes(b"w")
    with pytest.raises(HttpResponseError, match="the next version is 1") as raised:
        client.models.create_or_update(Model(path=str(weights), name="m", version="7"))
    assert raised.value.status_code == 400


def test_the_default_datastore_is_the_emulators_blob_account(
    client: MLClient, arm_server: EmulatorServer
) -> None:
    store = client.datastores.get_default()
    assert store.name == "workspaceblobstore"
    assert store.account_name == f"127.0.0.1:{arm_server.port}/wsstorage"
    assert store.container_name.startswith("azureml-blobstore-")
