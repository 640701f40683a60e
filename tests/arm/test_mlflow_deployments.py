"""No-code MLflow deployments through the real ``azure-ai-ml``: a model registered as
``mlflow_model`` deploys to an online endpoint and to a batch endpoint with neither scoring
script nor environment; its image is built from the model's own conda.yaml (mlflow-skinny
installed into the image, not here) and loads it with ``mlflow.pyfunc``. One image is built for
the module (the batch deployment of the same model reuses it): the online endpoint answers
Azure's request forms, the inference server's 400 for a malformed body; a scoring script wins
once given with an environment; a script without an environment is refused as Azure refuses it.
The portal shows the deployment.

Marked ``slow``: the image build installs mlflow-skinny and pandas into a virtualenv (uv, from
its cache: seconds; the first run on a machine downloads them)."""

from __future__ import annotations

import html
import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from azure.ai.ml import Input, MLClient
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import (
    AmlCompute,
    BatchEndpoint,
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    ModelBatchDeployment,
    ModelBatchDeploymentSettings,
)
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from werkzeug.test import Client

from emulator import Workspace
from emulator.daemon.server import EmulatorServer
from emulator.portal.app import PortalApp
from emulator.settings import BUILDER_ENV, ROOT_ENV, STRICT_ENV
from emulator.store.root import EmulatorRoot
from tests.arm.batch_jobs_support import settle
from tests.arm.conftest import point_the_client_at
from tests.arm.mlflow_support import predict, write_mlflow_model

pytestmark = pytest.mark.slow

SUB = "11111111-2222-3333-4444-555555555555"
ROWS = [[1.0, 2.0], [0.5, 0.0], [3.0, 1.0]]
#: A script that says where Azure put the MLflow model for it (the script wins).
SCRIPT = """
import json, os

def init():
    pass

def run(raw):
    folder = os.environ["AZUREML_MODEL_DIR"]
    return {"script": True, "files": sorted(os.listdir(os.path.join(folder, "model")))}
"""


@dataclass(frozen=True)
class World:
    client: MLClient
    work: Path
    model: str  # azureml:<name>:<version>
    base_url: str
    root: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A server of the module's own; the MLflow model registered; endpoint ``mlf`` with the
    no-code deployment ``blue`` taking all traffic."""
    root = tmp_path_factory.mktemp("mlflow-root")
    work = tmp_path_factory.mktemp("mlflow-work")
    folder = write_mlflow_model(work / "model")
    with pytest.MonkeyPatch.context() as patch, EmulatorServer(EmulatorRoot(root)) as server:
        patch.setenv(ROOT_ENV, str(root))
        patch.delenv(STRICT_ENV, raising=False)
        patch.delenv(BUILDER_ENV, raising=False)  # the local builder: a virtualenv per image
        point_the_client_at(server, patch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client = MLClient(DefaultAzureCredential(), SUB, "rg", "ws")
        model = client.models.create_or_update(
            Model(name="linear", path=str(folder), type=AssetTypes.MLFLOW_MODEL)
        )
        reference = f"azureml:{model.name}:{model.version}"
        client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="mlf")).result()
        client.online_deployments.begin_create_or_update(
            ManagedOnlineDeployment(
                name="blue",
                endpoint_name="mlf",
                model=reference,
                instance_type="Standard_DS3_v2",
                instance_count=1,
            )
        ).result()
        endpoint = client.online_endpoints.get("mlf")
        endpoint.traffic = {"blue": 100}
        client.online_endpoints.begin_create_or_update(endpoint).result()
        yield World(client, work, reference, server.base_url, root)


def _post(world: World, body: bytes, content_type: str = "application/json") -> requests.Response:
    """A POST to ``mlf``'s scoring URI with its key (the bundle ``amlemu env`` set)."""
    client = world.client
    key = client.online_endpoints.get_keys("mlf").primary_key
    return requests.post(
        client.online_endpoints.get("mlf").scoring_uri,
        data=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": content_type},
        timeout=60,
    )


def test_a_no_code_mlflow_deployment_answers_azures_request_forms(world: World) -> None:
    client = world.client
    deployment = client.online_deployments.get("blue", "mlf")
    assert deployment.provisioning_state == "Succeeded"
    assert deployment.environment is None and deployment.code_configuration is None
    name, version = world.model.split(":")[1:]
    assert client.models.get(name, version).type == "mlflow_model"
    expected = [pytest.approx(predict(a, b)) for a, b in ROWS]

    split = {"input_data": {"columns": ["a", "b"], "index": [0, 1, 2], "data": ROWS}}
    request = world.work / "split.json"
    request.write_text(json.dumps(split))
    assert json.loads(client.online_endpoints.invoke("mlf", request_file=str(request))) == (
        expected
    )
    records = {"input_data": [{"a": a, "b": b} for a, b in ROWS]}
    named = {"input_data": {"a": [a for a, _ in ROWS], "b": [b for _, b in ROWS]}}
    with_params = {**split, "params": {"temperature": 0.5}}  # MLflow 2.x inference params
    for body in (records, named, with_params):
        answer = _post(world, json.dumps(body).encode())
        assert answer.status_code == 200, answer.text
        assert answer.json() == expected

    # Served by Azure's MLflow scoring script, whose run() takes input_data (and params).
    log = client.online_deployments.get_logs("blue", "mlf", lines=200)
    assert "Entry Script Name: mlflow_score_script.py" in log
    assert "Server will invoke it with the following arguments: input_data, params." in log
    assert "Ignoring provided params: ['temperature']" in log  # mlflow: no params schema
    # The image's environment is the model's conda.yaml: mlflow-skinny installed there.
    (build_log,) = world.root.glob("workspaces/*/images/mlf-blue/*/build.log")
    built = build_log.read_text()
    assert "+ mlflow-skinny==3.18.0" in built and "+ pandas==3.1.1" in built
    assert "Provided by the emulator (not installed): azureml-inference-server-http" in built


def test_a_malformed_body_gets_the_inference_servers_400(world: World) -> None:
    no_input = _post(world, json.dumps({"data": ROWS}).encode())
    assert no_input.status_code == 400
    assert no_input.json() == {"message": "A value is not provided for the 'input_data' parameter."}
    not_json = _post(world, b"a,b\n1,2\n")
    assert not_json.status_code == 400
    assert not_json.json()["message"].startswith("POST body could not be decoded as JSON")
    listed = _post(world, json.dumps(ROWS).encode())
    assert (listed.status_code, listed.json()) == (
        400,
        {"message": "POST body should be a JSON dictionary."},
    )
    wrong_type = _post(world, b"a=1", content_type="text/plain")
    assert (wrong_type.status_code, wrong_type.json()) == (
        415,
        {"message": "Expects Content-Type to be application/json"},
    )
    # Named tensors the model does not have: predict() raises, the server answers 500, which
    # the endpoint passes on as Azure's 424 with the model's status in a header.
    unknown = _post(world, json.dumps({"input_data": {"x": [1.0]}}).encode())
    assert unknown.status_code == 424
    assert unknown.headers["ms-azureml-model-error-statuscode"] == "500"
    assert unknown.json() == {
        "message": "An unexpected error occurred in scoring script. Check the logs for more info."
    }
    log = world.client.online_deployments.get_logs("blue", "mlf", lines=100)
    assert "Model is missing inputs ['a', 'b']" in log  # mlflow's schema enforcement
    # Split orientation needs columns, index and data (Azure's test); without index the
    # object is read as named tensors "columns" and "data", which the model does not have.
    no_index = {"input_data": {"columns": ["a", "b"], "data": ROWS}}
    assert _post(world, json.dumps(no_index).encode()).status_code == 424


def test_a_scoring_script_needs_an_environment_and_then_wins(world: World) -> None:
    client = world.client
    code = world.work / "src"
    code.mkdir()
    (code / "score.py").write_text(SCRIPT)
    scripted = ManagedOnlineDeployment(
        name="green",
        endpoint_name="mlf",
        model=world.model,
        code_configuration=CodeConfiguration(code=str(code), scoring_script="score.py"),
        instance_type="Standard_DS3_v2",
        instance_count=1,
    )
    with pytest.raises(HttpResponseError) as refused:
        client.online_deployments.begin_create_or_update(scripted)
    assert "Environment is required when a scoring script (code_configuration) is specified" in (
        str(refused.value)
    )
    with pytest.raises(HttpResponseError):
        client.online_deployments.get("green", "mlf")  # never stored

    scripted.environment = Environment(
        image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu",
        conda_file={"dependencies": ["python=3.11", "pip", {"pip": ["azureml-defaults"]}]},
    )
    client.online_deployments.begin_create_or_update(scripted).result()
    request = world.work / "any.json"
    request.write_text('{"input_data": []}')
    answer = client.online_endpoints.invoke(
        "mlf", request_file=str(request), deployment_name="green"
    )
    assert json.loads(answer) == {
        "script": True,
        "files": ["MLmodel", "conda.yaml", "model.pkl", "python_env.yaml", "requirements.txt"],
    }


def test_a_custom_model_without_code_is_refused_naming_the_model_types(world: World) -> None:
    weights = world.work / "weights.txt"
    weights.write_text("1")
    with pytest.raises(HttpResponseError) as refused:
        world.client.online_deployments.begin_create_or_update(
            ManagedOnlineDeployment(
                name="plain",
                endpoint_name="mlf",
                model=Model(path=str(weights)),
                instance_type="Standard_DS3_v2",
            )
        )
    message = str(refused.value)
    assert "is a custom_model: a scoring script (code_configuration) and an environment" in message
    assert "Only MLflow and Triton models deploy without them" in message


def test_an_mlflow_model_without_the_pyfunc_flavor_fails_its_deployment(world: World) -> None:
    folder = world.work / "keras-only"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors:\n  keras:\n    keras_version: 3.0.0\n")
    deployment = ManagedOnlineDeployment(
        name="keras",
        endpoint_name="mlf",
        model=Model(path=str(folder), type=AssetTypes.MLFLOW_MODEL),
        instance_type="Standard_DS3_v2",
    )
    with pytest.raises(HttpResponseError) as failed:
        world.client.online_deployments.begin_create_or_update(deployment).result()
    assert "has no python_function flavor (its flavors: keras)" in str(failed.value)
    assert world.client.online_deployments.get("keras", "mlf").provisioning_state == "Failed"


def test_the_portal_shows_the_no_code_deployment(world: World) -> None:
    workspace = Workspace.get("ws", subscription_id=SUB, resource_group="rg")
    portal = Client(PortalApp(workspace, arm_url=lambda: world.base_url))
    page = html.unescape(portal.get("/endpoints/mlf/deployments/blue").text)
    assert 'class="state Succeeded"' in page
    assert "/models/linear/versions/1" in page
    assert "derived from the MLflow model" in page


def test_a_batch_job_of_the_mlflow_model_writes_predictions(world: World) -> None:
    client = world.client
    client.compute.begin_create_or_update(
        AmlCompute(name="cpu-cluster", size="Standard_DS3_v2", max_instances=1)
    ).result()
    client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="mlbatch")).result()
    created = client.batch_deployments.begin_create_or_update(
        ModelBatchDeployment(
            name="nocode",
            endpoint_name="mlbatch",
            model=world.model,
            compute="cpu-cluster",
            settings=ModelBatchDeploymentSettings(mini_batch_size=1),
        )
    ).result()
    assert created.provisioning_state == "Succeeded"
    inputs = world.work / "heart"
    inputs.mkdir()
    (inputs / "part-0.csv").write_text("a,b\n1.0,2.0\n0.5,0.0\n")
    (inputs / "part-1.csv").write_text("a,b\n3.0,1.0\n")
    job = client.batch_endpoints.invoke(
        endpoint_name="mlbatch", input=Input(type="uri_folder", path=str(inputs))
    )
    assert settle(client, job.name, timeout=120) == "Completed"
    out = world.work / "out"
    client.jobs.download(job.name, download_path=str(out), output_name="score")
    rows = sorted(line.split(" ") for line in (out / "predictions.csv").read_text().splitlines())
    assert [(row[0], row[2]) for row in rows] == [
        ("0", "part-0.csv"),
        ("0", "part-1.csv"),
        ("1", "part-0.csv"),
    ]
    assert [float(row[1]) for row in rows] == [
        pytest.approx(predict(1.0, 2.0)),
        pytest.approx(predict(3.0, 1.0)),
        pytest.approx(predict(0.5, 0.0)),
    ]
