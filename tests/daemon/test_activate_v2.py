"""``emulator.activate()`` (notebooks) covers both SDKs: the azureml shim, and azure-ai-ml pointed
at a server of this process until the last ``deactivate()``, variables restored afterwards."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import emulator
from emulator.settings import ROOT_ENV

with warnings.catch_warnings():  # azure-ai-ml 1.35 warns about marshmallow 4 on import
    warnings.simplefilter("ignore")
    from azure.ai.ml import MLClient
from azure.identity import DefaultAzureCredential

V2_VARIABLES = ("ARM_CLOUD_METADATA_URL", "IDENTITY_ENDPOINT", "IDENTITY_HEADER")


@pytest.fixture
def fresh_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "root"))
    for name in (*V2_VARIABLES, "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZUREML_CURRENT_CLOUD", "AzureCloud")  # a notebook's earlier choice
    yield tmp_path / "root"
    while emulator.is_active():
        emulator.deactivate()


def test_activate_serves_both_sdks_until_the_last_deactivate(fresh_root: Path) -> None:
    ssl_cert_file = os.environ.get("SSL_CERT_FILE")
    emulator.activate()
    emulator.activate()
    try:
        from azureml.core import Workspace

        assert Workspace is emulator.Workspace
        client = MLClient(DefaultAzureCredential(), "sub", "rg", "notebook-ws")
        assert client.workspaces.get("notebook-ws").name == "notebook-ws"
        emulator.deactivate()  # nested: still active
        assert os.environ["ARM_CLOUD_METADATA_URL"].startswith("https://127.0.0.1:")
        assert client.workspaces.get("notebook-ws").name == "notebook-ws"
    finally:
        emulator.deactivate()
    assert not emulator.is_active()
    assert all(name not in os.environ for name in V2_VARIABLES)
    assert os.environ.get("SSL_CERT_FILE") == ssl_cert_file
    assert os.environ["AZUREML_CURRENT_CLOUD"] == "AzureCloud"
