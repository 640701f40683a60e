"""No-code Triton deployments through the real ``azure-ai-ml`` and the real ``tritonclient``:
a Triton model repository (config.pbtxt + an ONNX model built here) registered as
``triton_model`` deploys without code or environment; the official HTTP client reaches it at
the scoring URI's base over HTTPS with the endpoint's key (readiness, metadata, binary and JSON
tensors); Triton's errors come back as ``InferenceServerException``; a repository of another
backend fails the deployment naming it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as httpclient
from azure.ai.ml import MLClient
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint, Model
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from tritonclient.utils import InferenceServerException

from emulator.daemon.server import EmulatorServer
from emulator.settings import BUILDER_ENV
from tests.arm.triton_support import CONFIG, repository

SUB = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def client(
    arm_server: EmulatorServer, v2_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> MLClient:
    monkeypatch.setenv(BUILDER_ENV, "host")  # replicas run on this interpreter: no installs
    return MLClient(DefaultAzureCredential(), SUB, "rg", "ws")


def _deploy(
    client: MLClient, repository: Path, endpoint: str, auth_mode: str = "key"
) -> ManagedOnlineDeployment:
    client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name=endpoint, auth_mode=auth_mode)
    ).result()
    deployment = ManagedOnlineDeployment(
        name="blue",
        endpoint_name=endpoint,
        model=Model(path=str(repository), type=AssetTypes.TRITON_MODEL),
        instance_type="Standard_DS3_v2",
        instance_count=1,
    )
    return client.online_deployments.begin_create_or_update(deployment).result()


def _triton(client: MLClient, endpoint: str) -> tuple[httpclient.InferenceServerClient, dict]:
    """The official client at the scoring URI's base (Azure's samples strip ``https://``;
    the base is the scoring URI without ``/score``), with the endpoint's key. geventhttpclient
    verifies with certifi's bundle, not ``SSL_CERT_FILE``: the bundle ``amlemu env`` names is
    handed over as ``ca_certs`` (without it: CERTIFICATE_VERIFY_FAILED)."""
    uri = client.online_endpoints.get(endpoint).scoring_uri
    assert uri.startswith("https://") and uri.endswith("/score")
    key = client.online_endpoints.get_keys(endpoint).primary_key
    triton = httpclient.InferenceServerClient(
        url=uri[len("https://") : -len("/score")],
        ssl=True,
        ssl_options={"ca_certs": os.environ["SSL_CERT_FILE"]},
    )
    return triton, {"Authorization": f"Bearer {key}"}


def test_tritonclient_infers_with_binary_and_json_tensors(client: MLClient, tmp_path: Path) -> None:
    created = _deploy(client, repository(tmp_path), "tri1")
    assert created.provisioning_state == "Succeeded"
    name, version = str(created.model).split("/models/")[1].split("/versions/")
    assert client.models.get(name, version).type == "triton_model"
    assert client.models.get(name, version).properties == {}
    log = client.online_deployments.get_logs("blue", "tri1", lines=10)
    assert "successfully loaded 'simple' version 1" in log
    endpoint = client.online_endpoints.get("tri1")
    endpoint.traffic = {"blue": 100}
    client.online_endpoints.begin_create_or_update(endpoint).result()
    triton, headers = _triton(client, "tri1")

    assert triton.is_server_live(headers=headers)
    assert triton.is_server_ready(headers=headers)
    assert triton.is_model_ready("simple", headers=headers)
    metadata = triton.get_model_metadata("simple", headers=headers)
    assert metadata["platform"] == "onnxruntime_onnx"
    assert metadata["versions"] == ["1"]
    assert metadata["inputs"] == [
        {"name": "INPUT0", "datatype": "FP32", "shape": [-1, 4]},
        {"name": "INPUT1", "datatype": "FP32", "shape": [-1, 4]},
    ]

    left = np.arange(8, dtype=np.float32).reshape(2, 4)
    right = np.full((2, 4), 0.5, dtype=np.float32)
    for binary in (True, False):  # tritonclient's default (binary) and JSON tensors
        inputs = [
            httpclient.InferInput("INPUT0", [2, 4], "FP32"),
            httpclient.InferInput("INPUT1", [2, 4], "FP32"),
        ]
        inputs[0].set_data_from_numpy(left, binary_data=binary)
        inputs[1].set_data_from_numpy(right, binary_data=binary)
        outputs = [
            httpclient.InferRequestedOutput("OUTPUT0", binary_data=binary),
            httpclient.InferRequestedOutput("OUTPUT1", binary_data=binary),
        ]
        # a fresh dict per call: tritonclient writes Inference-Header-Content-Length into it
        result = triton.infer(
            "simple", inputs, outputs=outputs, headers=dict(headers), request_id="7"
        )
        np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), left + right)
        np.testing.assert_array_equal(result.as_numpy("OUTPUT1"), left - right)
        response = result.get_response()
        assert (response["model_name"], response["model_version"], response["id"]) == (
            "simple",
            "1",
            "7",
        )
        assert ("binary_data_size" in str(response["outputs"])) is binary

    # no outputs named: all of them, in binary (the client asks binary_data_output)
    default = triton.infer("simple", inputs, headers=dict(headers))
    np.testing.assert_array_equal(default.as_numpy("OUTPUT1"), left - right)


def test_triton_refuses_bad_requests_and_keys_with_its_errors(
    client: MLClient, tmp_path: Path
) -> None:
    _deploy(client, repository(tmp_path), "tri2")
    # no traffic: the deployment header routes, as for /score
    triton, headers = _triton(client, "tri2")
    headers["azureml-model-deployment"] = "blue"

    wrong = httpclient.InferInput("INPUT0", [2, 3], "FP32")
    wrong.set_data_from_numpy(np.zeros((2, 3), dtype=np.float32))
    other = httpclient.InferInput("INPUT1", [2, 3], "FP32")
    other.set_data_from_numpy(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(InferenceServerException) as shape:
        triton.infer("simple", [wrong, other], headers=dict(headers))
    assert shape.value.message() == (
        "unexpected shape for input 'INPUT0' for model 'simple'. Expected [-1,4], got [2,3]"
    )
    assert shape.value.status() == "400"

    typed = httpclient.InferInput("INPUT0", [1, 4], "INT32")
    typed.set_data_from_numpy(np.zeros((1, 4), dtype=np.int32))
    fine = httpclient.InferInput("INPUT1", [1, 4], "FP32")
    fine.set_data_from_numpy(np.zeros((1, 4), dtype=np.float32))
    with pytest.raises(InferenceServerException, match="data-type is 'INT32', but model"):
        triton.infer("simple", [typed, fine], headers=dict(headers))

    big = [httpclient.InferInput(n, [9, 4], "FP32") for n in ("INPUT0", "INPUT1")]
    for tensor in big:
        tensor.set_data_from_numpy(np.zeros((9, 4), dtype=np.float32))
    with pytest.raises(InferenceServerException, match="batch-size must be <= 8 for 'simple'"):
        triton.infer("simple", big, headers=dict(headers))

    with pytest.raises(InferenceServerException, match="'densenet' is not found"):
        triton.get_model_metadata("densenet", headers=headers)
    assert not triton.is_model_ready("densenet", headers=headers)

    # Azure's notebook hands the client the scoring URI without https:// only: /score/v2/...
    uri = client.online_endpoints.get("tri2").scoring_uri
    whole = httpclient.InferenceServerClient(
        url=uri[len("https://") :], ssl=True, ssl_options={"ca_certs": os.environ["SSL_CERT_FILE"]}
    )
    assert whole.is_model_ready("simple", headers=headers)

    with pytest.raises(InferenceServerException) as refused:
        triton.get_model_metadata(
            "simple", headers={**headers, "Authorization": "Bearer not-a-key"}
        )
    assert refused.value.status() == "401"


def test_a_repository_of_another_backend_fails_the_deployment_naming_it(
    client: MLClient, tmp_path: Path
) -> None:
    config = CONFIG.replace('platform: "onnxruntime_onnx"', 'platform: "tensorflow_savedmodel"')
    with pytest.raises(HttpResponseError) as failed:
        _deploy(client, repository(tmp_path, config), "tri3")
    assert "platform 'tensorflow_savedmodel'" in str(failed.value)
    assert "Only ONNX models are served" in str(failed.value)
    assert client.online_deployments.get("blue", "tri3").provisioning_state == "Failed"


def test_an_aml_token_endpoint_takes_its_token(client: MLClient, tmp_path: Path) -> None:
    _deploy(client, repository(tmp_path), "tri4", auth_mode="aml_token")
    uri = client.online_endpoints.get("tri4").scoring_uri
    token = client.online_endpoints.get_keys("tri4").access_token
    triton = httpclient.InferenceServerClient(
        url=uri[len("https://") : -len("/score")],
        ssl=True,
        ssl_options={"ca_certs": os.environ["SSL_CERT_FILE"]},
    )
    route = {"azureml-model-deployment": "blue"}
    assert triton.is_model_ready("simple", headers={**route, "Authorization": f"Bearer {token}"})
    with pytest.raises(InferenceServerException) as refused:
        triton.get_server_metadata(headers=route)
    assert refused.value.status() == "401"
