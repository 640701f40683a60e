"""Batch endpoints and batch deployments through the real ``azure-ai-ml`` client: create, get,
list and delete; ``defaults.deployment_name``; Microsoft Entra auth only with the jobs URL as
scoring URI; ``ModelBatchDeployment`` settings and the older ``BatchDeployment`` read back with
Azure's defaults; a bad conda spec fails the create with the build log."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.ai.ml import MLClient
from azure.ai.ml.constants import BatchDeploymentOutputAction
from azure.ai.ml.entities import (
    BatchDeployment,
    BatchEndpoint,
    BatchRetrySettings,
    CodeConfiguration,
    Environment,
    Model,
    ModelBatchDeployment,
    ModelBatchDeploymentSettings,
)
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential

from emulator.daemon.server import EmulatorServer
from emulator.settings import BUILDER_ENV

SUB = "11111111-2222-3333-4444-555555555555"
IMAGE = "mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"

SCORE = """
import os

def init():
    global model_dir
    model_dir = os.environ["AZUREML_MODEL_DIR"]

def run(mini_batch):
    return [os.path.basename(path) for path in mini_batch]
"""


@pytest.fixture
def client(
    arm_server: EmulatorServer, v2_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> MLClient:
    monkeypatch.setenv(BUILDER_ENV, "host")  # images run on this interpreter: no installs
    return MLClient(DefaultAzureCredential(), SUB, "rg", "ws")


def _code(tmp_path: Path) -> Path:
    code = tmp_path / "src"
    code.mkdir(exist_ok=True)
    (code / "score.py").write_text(SCORE)
    (tmp_path / "model.txt").write_text("weights")
    return code


def test_a_batch_endpoint_is_created_listed_updated_and_deleted(client: MLClient) -> None:
    created = client.batch_endpoints.begin_create_or_update(
        BatchEndpoint(name="bep1", description="nightly scoring", tags={"team": "a"})
    ).result()
    assert (created.name, created.auth_mode, created.provisioning_state) == (
        "bep1",
        "aad_token",
        "Succeeded",
    )
    # Azure's scoring URI of a batch endpoint is where its jobs are created.
    assert created.scoring_uri.endswith("/bep1/jobs")
    assert created.scoring_uri.startswith("https://127.0.0.1:")

    endpoint = client.batch_endpoints.get("BEP1")  # names are case-insensitive
    assert (endpoint.description, endpoint.tags) == ("nightly scoring", {"team": "a"})
    endpoint.defaults.deployment_name = "blue"
    client.batch_endpoints.begin_create_or_update(endpoint).result()
    assert client.batch_endpoints.get("bep1").defaults.deployment_name == "blue"

    client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="bep2")).result()
    assert [e.name for e in client.batch_endpoints.list()] == ["bep1", "bep2"]

    client.batch_endpoints.begin_delete("bep1").result()
    assert [e.name for e in client.batch_endpoints.list()] == ["bep2"]
    with pytest.raises(ResourceNotFoundError, match="Batch endpoint 'bep1' does not exist"):
        client.batch_endpoints.get("bep1")


def test_batch_endpoints_take_microsoft_entra_tokens_only(client: MLClient) -> None:
    with pytest.raises(HttpResponseError, match="support only Microsoft Entra tokens"):
        client.batch_endpoints.begin_create_or_update(
            BatchEndpoint(name="bep-key", auth_mode="key")
        ).result()
    assert list(client.batch_endpoints.list()) == []


# azure-ai-ml warns that BatchDeployment is deprecated; its use here is on purpose.
@pytest.mark.filterwarnings("ignore:This class is intended as a base class")
def test_a_model_batch_deployment_keeps_its_settings_and_fills_azures_defaults(
    client: MLClient, tmp_path: Path
) -> None:
    code = _code(tmp_path)
    client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="bep")).result()
    assert client.batch_endpoints.get("bep").defaults.deployment_name is None
    deployment = ModelBatchDeployment(
        name="tuned",
        endpoint_name="bep",
        model=Model(path=str(tmp_path / "model.txt")),
        code_configuration=CodeConfiguration(code=str(code), scoring_script="score.py"),
        environment=Environment(image=IMAGE),
        compute="cpu-cluster",
        settings=ModelBatchDeploymentSettings(
            mini_batch_size=5,
            instance_count=2,
            max_concurrency_per_instance=3,
            output_action=BatchDeploymentOutputAction.APPEND_ROW,
            output_file_name="scores.csv",
            retry_settings=BatchRetrySettings(max_retries=1, timeout=45),
            error_threshold=2,
            logging_level="debug",
            environment_variables={"THRESHOLD": "0.5"},
        ),
    )
    created = client.batch_deployments.begin_create_or_update(deployment).result()
    assert (created.name, created.provisioning_state) == ("tuned", "Succeeded")

    # The endpoint's first deployment becomes its default; later ones do not.
    assert client.batch_endpoints.get("bep").defaults.deployment_name == "tuned"
    got = client.batch_deployments.get("tuned", "bep")
    assert got.endpoint_name == "bep"
    assert (got.mini_batch_size, got.max_concurrency_per_instance) == (5, 3)
    assert got.resources.instance_count == 2
    assert (got.output_action, got.output_file_name) == ("append_row", "scores.csv")
    assert (got.retry_settings.max_retries, got.retry_settings.timeout) == (1, 45)
    assert (got.error_threshold, got.logging_level) == (2, "debug")
    assert got.environment_variables == {"THRESHOLD": "0.5"}
    assert got.compute.endswith("cpu-cluster")
    assert got.code_configuration.scoring_script == "score.py"

    # The older BatchDeployment leaves every setting to Azure's defaults.
    client.batch_deployments.begin_create_or_update(
        BatchDeployment(
            name="plain",
            endpoint_name="bep",
            model=Model(path=str(tmp_path / "model.txt")),
            code_configuration=CodeConfiguration(code=str(code), scoring_script="score.py"),
            environment=Environment(image=IMAGE),
            compute="cpu-cluster",
        )
    ).result()
    plain = client.batch_deployments.get("plain", "bep")
    assert client.batch_endpoints.get("bep").defaults.deployment_name == "tuned"
    assert (plain.mini_batch_size, plain.max_concurrency_per_instance) == (10, 1)
    assert (plain.output_action, plain.output_file_name) == ("append_row", "predictions.csv")
    assert (plain.retry_settings.max_retries, plain.retry_settings.timeout) == (3, 30)
    assert (plain.error_threshold, plain.resources.instance_count) == (-1, 1)

    assert [d.name for d in client.batch_deployments.list("bep")] == ["plain", "tuned"]
    client.batch_deployments.begin_delete(name="plain", endpoint_name="bep").result()
    assert [d.name for d in client.batch_deployments.list("bep")] == ["tuned"]
    with pytest.raises(ResourceNotFoundError, match="Deployments of this endpoint: 'tuned'"):
        client.batch_deployments.get("plain", "bep")

    # Deleting the endpoint deletes its deployments.
    client.batch_endpoints.begin_delete("bep").result()
    client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="bep")).result()
    assert list(client.batch_deployments.list("bep")) == []


def test_a_deployment_needs_its_endpoint(client: MLClient, tmp_path: Path) -> None:
    with pytest.raises(ResourceNotFoundError, match="Batch endpoint 'nowhere' does not exist"):
        client.batch_deployments.begin_create_or_update(
            ModelBatchDeployment(
                name="d1",
                endpoint_name="nowhere",
                model=Model(path=str(tmp_path)),
                code_configuration=CodeConfiguration(
                    code=str(_code(tmp_path)), scoring_script="score.py"
                ),
                environment=Environment(image=IMAGE),
                compute="cpu-cluster",
            )
        ).result()


def test_a_bad_conda_spec_fails_the_batch_deployment_with_the_build_log(
    client: MLClient, tmp_path: Path
) -> None:
    client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="bep")).result()
    conda = tmp_path / "conda.yml"
    conda.write_text(
        "name: scoring\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n"
        "    - amlemu-no-such-package==1.0\n"
    )
    with pytest.raises(HttpResponseError) as failed:
        client.batch_deployments.begin_create_or_update(
            ModelBatchDeployment(
                name="broken",
                endpoint_name="bep",
                model=Model(path=str(_code(tmp_path) / "score.py")),
                code_configuration=CodeConfiguration(
                    code=str(tmp_path / "src"), scoring_script="score.py"
                ),
                environment=Environment(image=IMAGE, conda_file=str(conda)),
                compute="cpu-cluster",
            )
        ).result()
    assert "ImageBuildFailure" in str(failed.value)
    assert "amlemu-no-such-package" in str(failed.value)  # the build log's tail names it
    assert client.batch_deployments.get("broken", "bep").provisioning_state == "Failed"


def test_a_bad_setting_is_refused_before_the_deployment_is_stored(
    client: MLClient, tmp_path: Path
) -> None:
    client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="bep")).result()
    with pytest.raises(HttpResponseError, match="mini_batch_size is 0") as refused:
        client.batch_deployments.begin_create_or_update(
            ModelBatchDeployment(
                name="zero",
                endpoint_name="bep",
                model=Model(path=str(_code(tmp_path) / "score.py")),
                code_configuration=CodeConfiguration(
                    code=str(tmp_path / "src"), scoring_script="score.py"
                ),
                environment=Environment(image=IMAGE),
                compute="cpu-cluster",
                settings=ModelBatchDeploymentSettings(mini_batch_size=0),
            )
        ).result()
    assert refused.value.status_code == 400
    assert list(client.batch_deployments.list("bep")) == []
    assert client.batch_endpoints.get("bep").defaults.deployment_name is None
