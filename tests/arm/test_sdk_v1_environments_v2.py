"""One record, two faces: an environment registered with SDK v1 (``env.register(ws)``) is the
version the real ``azure-ai-ml`` gets, and a version created through azure-ai-ml is what
``Environment.get(ws, name, version)`` returns."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.ai.ml import MLClient
from azure.ai.ml.entities import Environment as V2Environment
from azure.identity import DefaultAzureCredential

from emulator import mock_aml
from emulator.daemon.server import EmulatorServer

SUB = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def client(arm_server: EmulatorServer, v2_env: dict[str, str]) -> MLClient:
    return MLClient(DefaultAzureCredential(), SUB, "rg", "ws")


def test_a_v1_registration_is_seen_by_azure_ai_ml(client: MLClient) -> None:
    with mock_aml():  # the root arm_server serves
        from azureml.core import Environment, Workspace
        from azureml.core.conda_dependencies import CondaDependencies

        ws = Workspace.get("ws", subscription_id=SUB, resource_group="rg")
        env = Environment("scoring-v1")
        env.python.conda_dependencies = CondaDependencies.create(
            python_version="3.11", pip_packages=["numpy==1.26.4"], pin_sdk_version=False
        )
        env.docker.base_image = "python:3.11-slim"
        registered = env.register(ws)
    got = client.environments.get("scoring-v1", registered.version)
    assert got.version == "1"
    assert got.image == "python:3.11-slim"
    assert got.conda_file["dependencies"][0] == "python=3.11"
    assert "numpy==1.26.4" in got.conda_file["dependencies"][1]["pip"]
    assert client.environments.get("scoring-v1", label="latest").version == "1"


def test_an_azure_ai_ml_version_is_seen_by_sdk_v1(client: MLClient, tmp_path: Path) -> None:
    conda = tmp_path / "conda.yml"
    conda.write_text("name: s\ndependencies:\n- python=3.10\n- pip:\n  - pandas==2.2.2\n")
    client.environments.create_or_update(
        V2Environment(name="from-v2", version="4", image="python:3.10-slim", conda_file=str(conda))
    )
    client.environments.create_or_update(
        V2Environment(name="image-only", version="1", image="python:3.12-slim")
    )
    with mock_aml():
        from azureml.core import Environment, Workspace

        ws = Workspace.get("ws", subscription_id=SUB, resource_group="rg")
        env = Environment.get(ws, "from-v2", version="4")
        assert env.docker.base_image == "python:3.10-slim"
        assert env.python.conda_dependencies.get_python_version() == "3.10"
        assert list(env.python.conda_dependencies.pip_packages) == ["pandas==2.2.2"]
        image_only = Environment.get(ws, "image-only")
        assert image_only.python.user_managed_dependencies  # the image brings its own python
        assert {"from-v2", "image-only"} <= set(ws.environments)
