"""The gRPC endpoint with a generic TF-Serving client, tensor encoding, status codes, JSON."""

from __future__ import annotations

import grpc
import numpy as np
import pytest
from accel_models import mlp

from emulator.accel import tensors
from emulator.accel.proto import (
    predict_pb2,
    prediction_service_pb2_grpc,
    tensor_pb2,
    types_pb2,
)
from emulator.accel.scoring import score_json
from emulator.accel.serving import PredictionServer
from emulator.accel.session import OnnxModel


def _generic_predict(server: PredictionServer, request: predict_pb2.PredictRequest):
    """What any TF-Serving client does: a channel, the stub, Predict — no emulator helpers."""
    with grpc.insecure_channel(server.target) as channel:
        return prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(
            request, timeout=10
        )


def test_generic_tf_serving_client_round_trip(grpc_server: PredictionServer) -> None:
    assert grpc_server.host == "127.0.0.1" and grpc_server.port > 0
    grpc_server.add_service("mlp", mlp())
    features = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)

    request = predict_pb2.PredictRequest()
    request.model_spec.name = "mlp"
    request.model_spec.signature_name = "serving_default"
    tensor = request.inputs["images"]
    tensor.dtype = types_pb2.DT_FLOAT
    tensor.tensor_shape.dim.add().size = 3
    tensor.tensor_shape.dim.add().size = 8
    tensor.float_val.extend(features.reshape(-1).tolist())  # the typed-field encoding
    request.output_filter.append("probs")
    response = _generic_predict(grpc_server, request)

    assert list(response.outputs) == ["probs"]
    assert response.model_spec.name == "mlp"
    assert response.model_spec.signature_name == "serving_default"
    out = response.outputs["probs"]
    assert out.dtype == types_pb2.DT_FLOAT
    assert [d.size for d in out.tensor_shape.dim] == [3, 3]
    got = np.frombuffer(out.tensor_content, dtype="<f4").reshape(3, 3)
    expected = OnnxModel.load(mlp()).session.run(["probs"], {"images": features})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-6)

    request.ClearField("output_filter")  # every output, named as in the ONNX graph
    assert sorted(_generic_predict(grpc_server, request).outputs) == ["logits", "probs"]


def test_wire_encoding_uses_tf_serving_field_numbers() -> None:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "m"
    request.inputs["x"].dtype = types_pb2.DT_STRING
    request.inputs["x"].string_val.append(b"a")
    request.output_filter.append("y")
    # model_spec=1 {name=1}, inputs=2 {key=1, value=2 {dtype=1 (7), string_val=8}},
    # output_filter=3
    assert request.SerializeToString() == (
        b"\x0a\x03\x0a\x01m\x12\x0a\x0a\x01x\x12\x05\x08\x07\x42\x01a\x1a\x01y"
    )
    shape = tensor_pb2.TensorProto(tensor_content=b"\x01", version_number=0)
    shape.tensor_shape.dim.add().size = 1
    assert shape.SerializeToString() == b"\x12\x04\x12\x02\x08\x01\x22\x01\x01"
    assert predict_pb2.PredictResponse.DESCRIPTOR.fields_by_name["outputs"].number == 1
    assert predict_pb2.PredictResponse.DESCRIPTOR.fields_by_name["model_spec"].number == 2
    assert predict_pb2.PredictRequest.DESCRIPTOR.full_name == "tensorflow.serving.PredictRequest"


@pytest.mark.parametrize(
    "array",
    [
        np.arange(6, dtype=np.float32).reshape(2, 3),
        np.arange(4, dtype=np.int64),
        np.array([[True, False]]),
        np.array([1.5, -2.0], dtype=np.float16),
        np.array([b"raw\xff", b""], dtype=object),
        np.array(3.25),
    ],
)
def test_tensor_round_trip(array: np.ndarray) -> None:
    back = tensors.to_numpy(tensors.from_numpy(array))
    assert back.shape == array.shape and back.dtype == array.dtype
    assert back.tolist() == array.tolist()


def test_typed_fields_follow_tensorflow_rules() -> None:
    fill = tensor_pb2.TensorProto(dtype=types_pb2.DT_INT32, int_val=[7])
    fill.tensor_shape.dim.add().size = 3
    assert tensors.to_numpy(fill).tolist() == [7, 7, 7]  # fewer values: repeat the last
    half = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_HALF, half_val=[int(np.float16(1.5).view(np.uint16))]
    )
    assert tensors.to_numpy(half).tolist() == 1.5  # no dims: a scalar, as in TensorFlow
    bad = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_content=b"\x00" * 6)
    with pytest.raises(tensors.TensorError, match="not a multiple of 4"):
        tensors.to_numpy(bad)
    with pytest.raises(tensors.TensorError, match="DT_BFLOAT16 is not supported"):
        tensors.to_numpy(tensor_pb2.TensorProto(dtype=types_pb2.DT_BFLOAT16))


def test_bad_requests_get_invalid_argument_with_the_model_signature(
    grpc_server: PredictionServer,
) -> None:
    grpc_server.add_service("mlp", mlp())

    def predict(name: str, array: np.ndarray, output: str | None = None) -> grpc.RpcError:
        request = predict_pb2.PredictRequest()
        request.inputs[name].CopyFrom(tensors.from_numpy(array))
        if output:
            request.output_filter.append(output)
        with pytest.raises(grpc.RpcError) as caught:
            _generic_predict(grpc_server, request)
        return caught.value

    err = predict("image", np.zeros((1, 8), np.float32))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Input 'image' is not in the model's inputs" in err.details()
    assert "Closest match: 'images'" in err.details()
    err = predict("images", np.zeros((1, 5), np.float32))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "expects [N, 8]: dimension 1 must be 8" in err.details()
    err = predict("images", np.zeros(8, np.float32))
    assert "rank 1" in err.details()
    err = predict("images", np.zeros((1, 8), np.float32), output="prob")
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Closest match: 'probs'" in err.details()
    err = predict("images", np.array([["a"] * 8]))
    assert "expects float32" in err.details()


def test_unrouted_requests_go_by_model_name_or_to_the_only_service(
    grpc_server: PredictionServer,
) -> None:
    grpc_server.add_service("a", mlp(seed=1))
    grpc_server.add_service("b", mlp(seed=2))
    request = predict_pb2.PredictRequest()
    request.inputs["images"].CopyFrom(tensors.from_numpy(np.zeros((1, 8), np.float32)))
    with pytest.raises(grpc.RpcError) as caught:
        _generic_predict(grpc_server, request)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert "services here: a, b" in caught.value.details()
    request.model_spec.name = "b"
    assert _generic_predict(grpc_server, request).model_spec.name == "b"
    grpc_server.remove_service("b")
    assert grpc_server.services == ["a"]
    assert _generic_predict(grpc_server, request).model_spec.name == "a"  # like TF-Serving
    with pytest.raises(KeyError, match=r"not in this server\. Known services: 'a'"):
        grpc_server.remove_service("b")


def test_score_json_forms() -> None:
    model = OnnxModel.load(mlp())
    row = [0.5] * 8
    status, body = score_json(model, '{"data": [' + str(row) + "]}")
    assert status == 200 and set(body["outputs"]) == {"probs", "logits"}
    status, body = score_json(model, {"instances": [row, row], "output_filter": ["probs"]})
    assert status == 200 and len(body["predictions"]) == 2 and len(body["predictions"][0]) == 3
    status, body = score_json(model, {"inputs": {"images": [row]}, "outputs": "logits"})
    assert status == 200 and np.asarray(body["outputs"]).shape == (1, 3)
    status, body = score_json(model, b'{"inputs": {"imgs": [[1]]}}')
    assert status == 400 and "Closest match: 'images'" in body["error"]
    status, body = score_json(model, b"[1, 2]")
    assert status == 400 and "JSON object" in body["error"]
