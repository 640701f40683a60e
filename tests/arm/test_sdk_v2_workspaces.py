"""The real ``azure-ai-ml`` client, unchanged, against the emulator: only environment variables
(and a config.json) point it here, as ``amlemu env`` prints them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from azure.ai.ml import MLClient
from azure.identity import DefaultAzureCredential

from emulator.arm.responses import CLOUD_NAME
from emulator.daemon.client_env import write_config
from emulator.daemon.server import EmulatorServer
from emulator.store.workspaces import WorkspaceStore

SUB = "11111111-2222-3333-4444-555555555555"


def test_mlclient_with_default_credential_gets_a_workspace(
    arm_server: EmulatorServer, v2_env: dict[str, str]
) -> None:
    client = MLClient(DefaultAzureCredential(), SUB, "my-rg", "my-ws")
    workspace = client.workspaces.get("my-ws")
    assert workspace.name == "my-ws"
    assert workspace.resource_group == "my-rg"
    assert workspace.location == "eastus"
    assert workspace.id.startswith(f"/subscriptions/{SUB}/resourceGroups/my-rg/")
    assert workspace.discovery_url.startswith(arm_server.base_url)
    [record] = WorkspaceStore(arm_server.root).all()
    assert (record.subscription_id, record.name) == (SUB, "my-ws")
    assert os.environ["AZUREML_CURRENT_CLOUD"] == CLOUD_NAME  # the SDK chose the emulator's


def test_mlclient_from_config_lists_the_workspaces_of_its_group(
    arm_server: EmulatorServer,
    v2_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    WorkspaceStore(arm_server.root).create(SUB, "cfg-rg", "other")
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    write_config(project / "config.json", SUB, "cfg-rg", "cfg-ws")
    monkeypatch.chdir(project / "src")  # from_config searches the parents too
    client = MLClient.from_config(DefaultAzureCredential())
    assert client.workspaces.get().name == "cfg-ws"
    assert sorted(w.name for w in client.workspaces.list()) == ["cfg-ws", "other"]


@pytest.mark.parametrize("tenant", [None, "72f988bf-0000-4000-8000-000000000002"])
def test_a_user_assigned_client_id_alone_still_reaches_the_emulators_identity(
    arm_server: EmulatorServer,
    v2_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tenant: str | None,
) -> None:
    """What ``amlemu env`` does not warn about must work (client_env.credential_warnings)."""
    monkeypatch.setenv("AZURE_CLIENT_ID", "0b1c2d3e-0000-4000-8000-000000000001")
    if tenant:
        monkeypatch.setenv("AZURE_TENANT_ID", tenant)
    client = MLClient(DefaultAzureCredential(), SUB, "rg", "ws-with-uami")
    assert client.workspaces.get("ws-with-uami").name == "ws-with-uami"


def test_the_sdk_reports_strict_modes_404_as_resource_not_found(
    arm_server: EmulatorServer, v2_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    monkeypatch.setenv("AZUREML_EMULATOR_STRICT", "1")
    client = MLClient(DefaultAzureCredential(), SUB, "rg", "missing-ws")
    with pytest.raises(ResourceNotFoundError, match="missing-ws"):
        client.workspaces.get("missing-ws")
