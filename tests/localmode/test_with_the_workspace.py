"""Local mode beside the emulated workspace: inside an ``amlemu run`` / ``emulator.activate()``
session (and the ``aml_ml_client`` pytest fixture, built on it) both faces are there, so a model
registered in the workspace deploys locally (``azureml:name:version``: azure-ai-ml downloads it
from the workspace's datastore, the emulator's blob plane, and mounts it), and users' own tests
get ``local=True`` from the fixture."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from localmode_files import CONDA

from emulator.daemon.session import v2_session
from emulator.settings import BUILDER_ENV, DOCKER_ENGINE_ENV, ROOT_ENV
from emulator.store.root import EmulatorRoot

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import (
        CodeConfiguration,
        Environment,
        ManagedOnlineDeployment,
        ManagedOnlineEndpoint,
        Model,
    )
    from azure.identity import DefaultAzureCredential

CREDENTIALS = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZUREML_CURRENT_CLOUD")
SCORE = """
import json, os

def init():
    global weights
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "weights", "w.json")) as f:
        weights = json.load(f)

def run(raw):
    return {"weighted": [x * weights["w"] for x in json.loads(raw)["data"]]}
"""


@pytest.mark.usefixtures("no_startup_wait")
def test_a_registered_model_deploys_locally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "root"))
    monkeypatch.setenv(BUILDER_ENV, "host")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in (*CREDENTIALS, DOCKER_ENGINE_ENV):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "w.json").write_text('{"w": 7}')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(SCORE)
    (tmp_path / "conda.yml").write_text(CONDA)
    (tmp_path / "sample.json").write_text('{"data": [1, 2]}')

    with v2_session(EmulatorRoot(tmp_path / "root")):
        ml_client = MLClient(DefaultAzureCredential(), "sub-1", "rg", "ws")
        model = ml_client.models.create_or_update(Model(name="w", path=str(tmp_path / "weights")))
        ml_client.online_endpoints.begin_create_or_update(
            ManagedOnlineEndpoint(name="ep"), local=True
        )
        ml_client.online_deployments.begin_create_or_update(
            ManagedOnlineDeployment(
                name="blue",
                endpoint_name="ep",
                model=f"azureml:{model.name}:{model.version}",
                code_configuration=CodeConfiguration(
                    code=str(tmp_path / "src"), scoring_script="score.py"
                ),
                environment=Environment(
                    conda_file=str(tmp_path / "conda.yml"),
                    image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest",
                ),
                instance_type="Standard_DS3_v2",
                instance_count=1,
            ),
            local=True,
        )
        answer = ml_client.online_endpoints.invoke(
            "ep", request_file=str(tmp_path / "sample.json"), local=True
        )
        assert json.loads(answer) == {"weighted": [7, 14]}
        ml_client.online_endpoints.begin_delete("ep", local=True)


@pytest.mark.usefixtures("no_startup_wait")
def test_the_pytest_fixture_client_deploys_locally(
    aml_ml_client: MLClient, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aml_ml_client's session exports DOCKER_HOST too: local=True works in users' tests."""
    monkeypatch.setenv(BUILDER_ENV, "host")
    monkeypatch.setenv("HOME", str(project / "home"))
    aml_ml_client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="ep"), local=True
    )
    aml_ml_client.online_deployments.begin_create_or_update(
        ManagedOnlineDeployment(
            name="blue",
            endpoint_name="ep",
            model=Model(path=str(project / "model")),
            code_configuration=CodeConfiguration(
                code=str(project / "src"), scoring_script="score.py"
            ),
            environment=Environment(
                conda_file=str(project / "conda.yml"),
                image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest",
            ),
            instance_type="Standard_DS3_v2",
            instance_count=1,
        ),
        local=True,
    )
    answer = aml_ml_client.online_endpoints.invoke(
        "ep", request_file=str(project / "sample.json"), local=True
    )
    assert json.loads(answer) == {"scaled": [3, 6]}
