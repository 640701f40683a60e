"""Accelerated (FPGA stand-in) images deployed to emulated AKS clusters: FPGA scheduling and
SKU errors, the cluster's gRPC endpoint (routing, auth) and HTTP ``/score`` of the same model.

Host builder and process replicas: each deployment takes about a second.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import onnx
import pytest
from accel_models import mlp, scale
from assets import run_example

from emulator import (
    AciWebservice,
    AksCompute,
    AksWebservice,
    AzureMock,
    ComputeTarget,
    Image,
    Model,
    Webservice,
    Workspace,
)
from emulator.accel import tensors
from emulator.accel.proto import predict_pb2, prediction_service_pb2_grpc
from emulator.accel.session import OnnxModel
from emulator.errors import ComputeTargetException, WebserviceException
from emulator.sdk.accel import AccelContainerImage, AccelInferenceConfig, AccelOnnxConverter
from emulator.sdk.prediction_client import PredictionClient, client_from_service

ROWS = np.random.default_rng(1).standard_normal((4, 8)).astype(np.float32)


@pytest.fixture(autouse=True)
def fast_world(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")
    monkeypatch.setenv("AZUREML_EMULATOR_PROVISIONING_SECONDS", "0")


def _accel_image(ws: Workspace, workdir: Path, name: str, graph: onnx.ModelProto) -> Image:
    onnx.save(graph, str(workdir / f"{name}.onnx"))
    source = Model.register(ws, f"{name}.onnx", name, model_framework="Onnx")
    output = graph.graph.output[0].name
    request = AccelOnnxConverter.convert_tf_model(ws, source, graph.graph.input[0].name, output)
    request.wait_for_completion()
    config = AccelContainerImage.image_configuration()
    image = Image.create(ws, f"{name}-image", [request.result], config)
    image.wait_for_creation()
    assert image.creation_state == "Succeeded"
    return image


def _cluster(ws: Workspace, name: str, **config: Any) -> ComputeTarget:
    target = ComputeTarget.create(ws, name, AksCompute.provisioning_configuration(**config))
    target.wait_for_completion()
    return target


def _fpga_cluster(ws: Workspace, name: str = "fpga-aks", agents: int = 1) -> ComputeTarget:
    """The quickstart's cluster: Standard_PB6s agents (one FPGA each) in eastus."""
    return _cluster(ws, name, vm_size="Standard_PB6s", agent_count=agents, location="eastus")


def _deploy(ws: Workspace, image: Image, target: Any, name: str, **config: Any) -> Any:
    deploy_config = AksWebservice.deploy_configuration(**config)
    return Webservice.deploy_from_image(ws, name, image, deploy_config, target)


def _generic_predict(
    port: int, service: str, inputs: dict[str, np.ndarray], key: str | None = None
) -> predict_pb2.PredictResponse:
    """A plain TF-Serving client call, with Azure's routing (and auth) metadata."""
    request = predict_pb2.PredictRequest()
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tensors.from_numpy(value))
    metadata = [("x-ms-aml-grpc-service-route", f"/api/v1/service/{service}")]
    if key:
        metadata.append(("authorization", f"Bearer {key}"))
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        return stub.Predict(request, timeout=10, metadata=metadata)


@pytest.fixture
def mlp_image(aml_workspace: Workspace, workdir: Path) -> Image:
    return _accel_image(aml_workspace, workdir, "mlp", mlp())


def test_fpga_requests_need_fpga_nodes(aml_workspace: Workspace, mlp_image: Image) -> None:
    plain = _cluster(aml_workspace, "cpu-aks", cluster_purpose="DevTest")
    service = _deploy(aml_workspace, mlp_image, plain, "no-fpga")
    with pytest.raises(WebserviceException, match="current service state: Unschedulable"):
        service.wait_for_deployment()
    details = service.error["details"]
    assert "0/1 nodes are available: 1 Insufficient microsoft.com/fpga_catapult." in [
        d["message"] for d in details
    ]
    service.delete()

    fpga = _fpga_cluster(aml_workspace)  # 1 PB6s agent: one FPGA, one replica
    two = _deploy(aml_workspace, mlp_image, fpga, "two-replicas", num_replicas=2)
    with pytest.raises(WebserviceException, match="Unschedulable"):
        two.wait_for_deployment()
    assert "1 Insufficient microsoft.com/fpga_catapult" in json.dumps(two.error)
    two.delete()

    with pytest.raises(WebserviceException, match="only be deployed to an AKS cluster"):
        Webservice.deploy_from_image(
            aml_workspace, "on-aci", mlp_image, AciWebservice.deploy_configuration()
        )


def test_fpga_size_is_checked_by_region(aml_workspace: Workspace) -> None:
    config = AksCompute.provisioning_configuration(
        vm_size="Standard_PB6s", agent_count=1, location="northeurope"
    )
    target = ComputeTarget.create(aml_workspace, "fpga-ne", config)
    with pytest.raises(ComputeTargetException, match=r"SkuNotAvailable.*offered in: eastus"):
        target.wait_for_completion()


def test_grpc_and_http_scoring_with_key_auth(
    aml_workspace: Workspace, workdir: Path, mlp_image: Image
) -> None:
    service = _deploy(aml_workspace, mlp_image, _fpga_cluster(aml_workspace), "mlp-svc")
    service.wait_for_deployment()
    assert service.state == "Healthy" and service.auth_enabled
    expected = OnnxModel.load(mlp()).run({"images": ROWS})["probs"]
    primary, secondary = service.get_keys()

    client = client_from_service(service)  # the quickstart's way
    np.testing.assert_allclose(client.score_numpy_arrays({"images": ROWS}), expected, rtol=1e-6)

    uri = service.scoring_uri  # the how-to's way: host (and port) cut from the scoring URI
    address = uri[uri.find("/") + 2 :].strip("/")
    derived = PredictionClient(address, port=80, access_token=secondary, service_name="mlp-svc")
    np.testing.assert_allclose(derived.score_numpy_arrays({"images": ROWS}), expected, rtol=1e-6)

    port = service.grpc_port  # the emulator's own: gRPC beside the HTTP router
    explicit = PredictionClient("127.0.0.1", port, access_token=primary, service_name="mlp-svc")
    explicit_probs = explicit.score_numpy_arrays({"images": ROWS}, outputs="probs")
    np.testing.assert_allclose(explicit_probs, expected, rtol=1e-6)

    for token in ("", "not-the-key"):
        wrong = PredictionClient("127.0.0.1", port, access_token=token, service_name="mlp-svc")
        with pytest.raises(grpc.RpcError) as failure:
            wrong.score_numpy_arrays({"images": ROWS})
        assert failure.value.code() is grpc.StatusCode.UNAUTHENTICATED

    service.regen_key("Primary")
    with pytest.raises(grpc.RpcError) as stale:
        client.score_numpy_arrays({"images": ROWS})
    assert stale.value.code() is grpc.StatusCode.UNAUTHENTICATED

    body = json.dumps({"data": ROWS.tolist(), "output_filter": ["probs"]})
    np.testing.assert_allclose(service.run(body)["outputs"], expected, rtol=1e-5)
    request = urllib.request.Request(
        uri,
        data=body.encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {secondary}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        np.testing.assert_allclose(json.load(response)["outputs"], expected, rtol=1e-5)

    for replica in service._manager.deployment("mlp-svc").containers():
        replica.stop()  # the model is loaded beside the replicas, but answers only with them
    with pytest.raises(grpc.RpcError, match="no ready replica") as down:
        _generic_predict(port, "mlp-svc", {"images": ROWS}, secondary)
    assert down.value.code() is grpc.StatusCode.UNAVAILABLE

    service.delete()
    with pytest.raises(grpc.RpcError) as gone:
        derived.score_numpy_arrays({"images": ROWS})
    assert gone.value.code() is grpc.StatusCode.NOT_FOUND
    for open_client in (client, derived, explicit):
        open_client.close()


def test_model_deploy_with_an_accel_inference_config_converts_once_and_serves(
    aml_workspace: Workspace, workdir: Path
) -> None:
    """The one-call path: Model.deploy converts the registered model (or reuses its
    <name>.<version>.accelonnx conversion) and serves it like an AccelContainer image."""
    ws = aml_workspace
    onnx.save(mlp(), str(workdir / "mlp.onnx"))
    source = Model.register(ws, "mlp.onnx", "legacy-mlp", model_framework="Onnx")
    cluster = _fpga_cluster(ws)
    config = AccelInferenceConfig(
        description="legacy", input_tensor="images", output_tensor="probs"
    )
    deploy_config = AksWebservice.deploy_configuration(auth_enabled=False)
    service = Model.deploy(ws, "legacy-svc", [source], config, deploy_config, cluster)
    service.wait_for_deployment()
    assert service.state == "Healthy"
    [converted] = Model.list(ws, name="legacy-mlp.1.accelonnx")
    assert converted.tags["parentModelId"] == "legacy-mlp:1"
    assert service.image.image_flavor == "AccelContainer" and service.image.description == "legacy"
    assert [m.id for m in service.image.models] == [converted.id]
    expected = OnnxModel.load(mlp()).run({"images": ROWS})["probs"]
    client = client_from_service(service)
    np.testing.assert_allclose(client.score_numpy_arrays({"images": ROWS}), expected, rtol=1e-6)
    client.close()
    service.delete()

    again = Model.deploy(ws, "legacy-again", [source], config, deploy_config, cluster)
    again.wait_for_deployment()
    assert [m.version for m in Model.list(ws, name="legacy-mlp.1.accelonnx")] == [1]
    again.delete()

    with pytest.raises(
        WebserviceException, match=r"^Can only deploy accelerated inference with a single model\.$"
    ):
        Model.deploy(ws, "two", [source, converted], config, deploy_config, cluster)
    with pytest.raises(WebserviceException, match="not supported for Accelerated models"):
        Model.profile(ws, "accel-profile", [source], config)
    with pytest.raises(
        WebserviceException, match=r"AccelInferenceConfig deploys with Model\.deploy"
    ):
        Model.package(ws, [source], config)


def test_two_services_on_one_cluster_routed_by_header(
    aml_workspace: Workspace, workdir: Path
) -> None:
    cluster = _fpga_cluster(aml_workspace, "fpga-two", agents=2)
    double = _accel_image(aml_workspace, workdir, "double", scale(2.0))
    triple = _accel_image(aml_workspace, workdir, "triple", scale(3.0))
    one = _deploy(aml_workspace, double, cluster, "times-two", auth_enabled=False)
    two = _deploy(
        aml_workspace, triple, cluster, "times-three", auth_enabled=False, token_auth_enabled=True
    )
    one.wait_for_deployment()
    two.wait_for_deployment()
    assert one.grpc_port == two.grpc_port  # one gRPC endpoint per cluster
    x = np.array([[1.0, -2.0]], dtype=np.float32)

    answer = _generic_predict(one.grpc_port, "times-two", {"x": x})
    np.testing.assert_array_equal(tensors.to_numpy(answer.outputs["y"]), 2 * x)
    token, _ = two.get_token()
    tokened = PredictionClient(
        "127.0.0.1", two.grpc_port, access_token=token, service_name="times-three"
    )
    np.testing.assert_array_equal(tokened.score_numpy_arrays({"x": x}), 3 * x)
    np.testing.assert_array_equal(client_from_service(two).score_numpy_arrays({"x": x}), 3 * x)
    keyed = PredictionClient(
        "127.0.0.1", two.grpc_port, access_token=two.get_keys()[0], service_name="times-three"
    )
    with pytest.raises(grpc.RpcError) as refused:
        keyed.score_numpy_arrays({"x": x})
    assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED

    with AzureMock(azure_uris=True):  # Azure-shaped URIs: port 80 of the cluster's fake IP
        shown = Webservice(aml_workspace, "times-two").scoring_uri
        assert shown.startswith("http://20.") and ":80/api/v1/service/times-two/" in shown
        quickstart = PredictionClient(shown.split(":")[1][2:], 80, service_name="times-two")
        np.testing.assert_array_equal(quickstart.score_numpy_arrays({"x": x}), 2 * x)

    missing = PredictionClient("127.0.0.1", one.grpc_port, service_name="times-four")
    with pytest.raises(grpc.RpcError, match="times-t") as unknown:
        missing.score_numpy_arrays({"x": x})
    assert unknown.value.code() is grpc.StatusCode.NOT_FOUND
    one.delete()
    two.delete()


@pytest.mark.slow
def test_quickstart_example_runs(tmp_path: Path) -> None:
    out = run_example("fpga_onnx/quickstart.py", tmp_path)
    assert "Healthy" in out
    assert "gRPC and HTTP agree" in out
