"""PredictionClient against the emulated gateway: metadata, auth, routing, output shapes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import numpy as np
import pytest
from accel_models import mlp, scale, text_identity

from emulator.accel.proto import predict_pb2, prediction_service_pb2_grpc, types_pb2
from emulator.accel.routing import token_auth
from emulator.accel.serving import PredictionServer
from emulator.sdk.prediction_client import PredictionClient, client_from_service


class _Recorder(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self) -> None:
        self.metadata: list[tuple[str, str]] = []

    def Predict(self, request, context):
        self.metadata = [(k, v) for k, v in context.invocation_metadata() if k[0] != ":"]
        return predict_pb2.PredictResponse()


@pytest.fixture
def recorder() -> Iterator[tuple[_Recorder, int]]:
    servicer = _Recorder()
    server = grpc.server(futures.ThreadPoolExecutor(2), options=[("grpc.so_reuseport", 0)])
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, port
    server.stop(None).wait()


def test_sends_the_sdks_metadata(recorder) -> None:
    servicer, port = recorder
    client = PredictionClient("127.0.0.1", port, access_token="tok", service_name="my-svc")
    assert client.score_numpy_arrays({"x": np.zeros(1, np.float32)}) == []
    sent = dict(servicer.metadata)
    assert sent["authorization"] == "Bearer tok"
    assert sent["x-ms-aml-grpc-service-route"] == "/api/v1/service/my-svc"
    PredictionClient("127.0.0.1", port).score_numpy_arrays({"x": np.zeros(1, np.float32)})
    assert dict(servicer.metadata)["authorization"] == "Bearer "


def test_default_ports_and_address() -> None:
    assert PredictionClient("example.org")._target == "example.org:80"
    assert PredictionClient("example.org", use_ssl=True)._target == "example.org:443"
    assert PredictionClient("example.org", 5001)._target == "example.org:5001"
    with pytest.raises(ValueError, match="address"):
        PredictionClient(None)  # type: ignore[arg-type]


def test_auth_on_and_off(grpc_server: PredictionServer) -> None:
    grpc_server.add_service("open", mlp())
    grpc_server.add_service("locked", mlp(), token_auth(["key-1", "key-2"]))
    features = np.ones((2, 8), np.float32)

    open_client = PredictionClient("127.0.0.1", grpc_server.port, service_name="open")
    assert [a.shape for a in open_client.score_numpy_arrays({"images": features})] == [
        (2, 3),
        (2, 3),
    ]
    good = PredictionClient(
        "127.0.0.1", grpc_server.port, access_token="key-2", service_name="locked"
    )
    assert good.score_numpy_arrays({"images": features}, outputs="probs").shape == (2, 3)

    for token in ("wrong", ""):
        bad = PredictionClient(
            "127.0.0.1", grpc_server.port, access_token=token, service_name="locked"
        )
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as caught:
            bad.score_numpy_arrays({"images": features})
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "authorization: Bearer <key>" in caught.value.details()
        assert time.monotonic() - started < 1.0  # not retried


def test_routes_by_service_header_to_two_models(grpc_server: PredictionServer) -> None:
    grpc_server.add_service("double", scale(2.0))
    grpc_server.add_service("triple", scale(3.0))
    x = np.array([[1.0, 2.0]], np.float32)
    results = {
        name: PredictionClient("127.0.0.1", grpc_server.port, service_name=name)
        .score_numpy_arrays({"x": x})
        .tolist()
        for name in ("double", "triple")
    }
    assert results == {"double": [[2.0, 4.0]], "triple": [[3.0, 6.0]]}

    missing = PredictionClient("127.0.0.1", grpc_server.port, service_name="tripel")
    with pytest.raises(grpc.RpcError) as caught:
        missing.score_numpy_arrays({"x": x})
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert "Closest match: 'triple'" in caught.value.details()


def test_output_selection_and_score_tensors(grpc_server: PredictionServer) -> None:
    grpc_server.add_service("mlp", mlp())
    client = PredictionClient("127.0.0.1", grpc_server.port, service_name="mlp")
    features = np.random.default_rng(1).standard_normal((4, 8)).astype(np.float32)
    probs, logits = client.score_numpy_arrays({"images": features}, outputs=["probs", "logits"])
    assert probs.shape == logits.shape == (4, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    via_tensors = client.score_tensors(
        {"images": (features.tobytes(), [4, 8], types_pb2.DT_FLOAT)}, outputs="logits"
    )
    np.testing.assert_array_equal(via_tensors, logits)
    with pytest.raises(grpc.RpcError) as caught:  # INVALID_ARGUMENT: no retry either
        client.score_numpy_arrays({"images": features[:, :3]})
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_score_file_sends_the_bytes_as_a_string_tensor(
    grpc_server: PredictionServer, tmp_path: Path
) -> None:
    grpc_server.add_service("echo", text_identity())
    path = tmp_path / "input.txt"
    path.write_text("hello accelerator")
    client = PredictionClient("127.0.0.1", grpc_server.port, service_name="echo")
    assert client.score_file(str(path)) == b"hello accelerator"  # first batch item
    assert client.score_file(str(path), outputs=["echo"])[0].tolist() == [b"hello accelerator"]


def test_client_from_service() -> None:
    class Service:
        name = "fpga-svc"
        scoring_uri = "https://203.0.113.4:8443/api/v1/service/fpga-svc/score"
        auth_enabled = True

        def get_keys(self) -> tuple[str, str]:
            return ("primary", "secondary")

    client = client_from_service(Service())
    assert client._target == "203.0.113.4:8443" and client._use_ssl
    assert dict(client._metadata) == {
        "authorization": "Bearer primary",
        "x-ms-aml-grpc-service-route": "/api/v1/service/fpga-svc",
    }
