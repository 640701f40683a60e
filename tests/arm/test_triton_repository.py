"""A Triton model repository as the V2 server loads and answers it, without HTTP: what
Triton refuses at load (another backend, a config that is not the graph's, no version) and the
protocol's corners the official client does not reach here (outputs asked by name in JSON,
malformed bodies, compressed bodies, wrong methods and routes)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, save_model
from tritonclient.utils import deserialize_bytes_tensor, serialize_byte_tensor

from emulator.server.triton.app import TritonServer
from emulator.server.triton.config import ConfigError, parse_text_proto
from emulator.server.triton.repository import RepositoryError
from tests.arm.triton_support import CONFIG, repository


def _infer(server: TritonServer, document: object, model: str = "simple") -> tuple[int, dict]:
    status, answer_headers, body = server(
        "POST", f"/v2/models/{model}/infer", {}, json.dumps(document).encode()
    )
    assert ("Content-Type", "application/json") in answer_headers
    return status, json.loads(body)


def _tensor(name: str, data: list, shape: list[int] | None = None) -> dict:
    return {"name": name, "datatype": "FP32", "shape": shape or [1, 4], "data": data}


def test_text_format_fields_comments_and_repeats() -> None:
    parsed = parse_text_proto(
        'name: "m" # comment\n'
        "input { name: 'a\\'b' dims: [ 1, -1 ] }\n"
        'input: { name: "c" dims: 2 dims: 3 }\n'
        "dynamic_batching { max_queue_delay_microseconds: 100 }"
    )
    assert parsed["name"] == ["m"]
    assert [i["name"] for i in parsed["input"]] == [["a'b"], ["c"]]
    assert parsed["input"][0]["dims"] == ["1", "-1"]
    assert parsed["input"][1]["dims"] == ["2", "3"]
    with pytest.raises(ConfigError, match="missing '}'"):
        parse_text_proto("input { name: 'a'")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('platform: "onnxruntime_onnx"', 'backend: "python"'), "names backend 'python'"),
        (
            ("data_type: TYPE_FP32, dims: [ 4 ] },\n", "data_type: TYPE_INT64, dims: [ 4 ] },\n"),
            "configuration expects datatype TYPE_INT64 for input 'INPUT0', model provides "
            "TYPE_FP32",
        ),
        (
            (
                '"OUTPUT1" data_type: TYPE_FP32 dims: [ 4 ]',
                '"OUTPUT1" data_type: TYPE_FP32 dims: [ 4, 1 ]',
            ),
            "the model expects 2 dimensions (shape [-1,4]) but the model configuration specifies 3",
        ),
        (('name: "simple"', 'name: "other"'), "does not match its directory 'simple'"),
        (
            ("TYPE_FP32, dims: [ 4 ] },\n", "TYPE_FLOAT, dims: [ 4 ] },\n"),
            "has data_type 'TYPE_FLOAT'",
        ),
    ],
)
def test_what_triton_refuses_at_load(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    assert change[0] in CONFIG
    folder = repository(tmp_path, CONFIG.replace(*change, 1))
    with pytest.raises(RepositoryError, match="failed to load 'simple'") as refused:
        TritonServer(folder)
    assert message in str(refused.value)


def test_a_model_without_a_version_folder_is_refused(tmp_path: Path) -> None:
    folder = repository(tmp_path)
    (folder / "simple" / "1" / "model.onnx").rename(folder / "simple" / "model.onnx")
    (folder / "simple" / "1").rmdir()
    with pytest.raises(RepositoryError, match="at least one version must be available"):
        TritonServer(folder)


def test_json_requests_outputs_and_errors(tmp_path: Path) -> None:
    server = TritonServer(repository(tmp_path))
    status, answer = _infer(
        server,
        {
            "inputs": [_tensor("INPUT0", [[1, 2, 3, 4]]), _tensor("INPUT1", [1, 1, 1, 1])],
            "outputs": [{"name": "OUTPUT1"}],
        },
    )
    assert status == 200
    assert answer == {
        "model_name": "simple",
        "model_version": "1",
        "outputs": [{"name": "OUTPUT1", "datatype": "FP32", "shape": [1, 4], "data": [0, 1, 2, 3]}],
    }
    status, answer = _infer(server, {"inputs": [_tensor("INPUT0", [1, 2, 3])]})
    assert status == 400 and "Shape does not match true shape of 'data'" in answer["error"]
    status, answer = _infer(server, {"inputs": [_tensor("INPUT0", [1, 2, 3, 4])]})
    assert answer["error"].startswith("expected 2 inputs but got 1 inputs for model 'simple'")
    status, answer = _infer(
        server,
        {
            "inputs": [_tensor("INPUT0", [1] * 4), _tensor("INPUT1", [1] * 4)],
            "outputs": [{"name": "X"}],
        },
    )
    assert answer == {"error": "unexpected inference output 'X' for model 'simple'"}
    status, _, body = server("POST", "/v2/models/simple/infer", {}, b"{not json")
    assert status == 400 and b"failed to parse the request JSON buffer" in body
    assert server("GET", "/v2/models/simple/infer", {}, b"")[0] == 405
    assert server("GET", "/v2/repository/index", {}, b"")[0] == 404


def test_compressed_request_and_answer(tmp_path: Path) -> None:
    server = TritonServer(repository(tmp_path))
    document = {"inputs": [_tensor("INPUT0", [2] * 4), _tensor("INPUT1", [1] * 4)]}
    status, headers, body = server(
        "POST",
        "/v2/models/simple/versions/1/infer",
        {"Content-Encoding": "gzip", "Accept-Encoding": "gzip"},
        gzip.compress(json.dumps(document).encode()),
    )
    assert status == 200 and ("Content-Encoding", "gzip") in headers
    outputs = json.loads(gzip.decompress(body))["outputs"]
    assert [o["data"] for o in outputs] == [[3, 3, 3, 3], [1, 1, 1, 1]]
    assert server("GET", "/v2/models/simple/versions/2", {}, b"")[0] == 404


ECHO = """
name: "echo"
backend: "onnxruntime"
max_batch_size: 0
input [ { name: "TEXT" data_type: TYPE_STRING dims: [ -1 ] } ]
output [ { name: "SAME" data_type: TYPE_STRING dims: [ -1 ] } ]
"""


def test_bytes_tensors_in_binary_and_json(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "echo"
    (folder / "1").mkdir(parents=True)
    (folder / "config.pbtxt").write_text(ECHO)
    graph = helper.make_graph(
        [helper.make_node("Identity", ["TEXT"], ["SAME"])],
        "echo",
        [helper.make_tensor_value_info("TEXT", TensorProto.STRING, ["n"])],
        [helper.make_tensor_value_info("SAME", TensorProto.STRING, ["n"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    save_model(model, str(folder / "1" / "model.onnx"))
    server = TritonServer(tmp_path / "models")

    # tritonclient's own BYTES serialization (4-byte length + bytes per element)
    raw = serialize_byte_tensor(np.array([b"caf\xc3\xa9", b""], dtype=np.object_)).item()
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "TEXT",
                    "datatype": "BYTES",
                    "shape": [2],
                    "parameters": {"binary_data_size": len(raw)},
                }
            ],
            "parameters": {"binary_data_output": True},
        }
    ).encode()
    status, headers, body = server(
        "POST",
        "/v2/models/echo/infer",
        {"inference-header-content-length": str(len(header))},
        header + raw,
    )
    assert status == 200, body
    size = int(dict(headers)["Inference-Header-Content-Length"])
    [output] = json.loads(body[:size])["outputs"]
    assert (output["datatype"], output["shape"]) == ("BYTES", [2])
    assert list(deserialize_bytes_tensor(body[size:])) == [b"caf\xc3\xa9", b""]

    status, answer = _infer(
        server,
        {"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1], "data": ["hi"]}]},
        "echo",
    )
    assert status == 200
    assert answer["outputs"][0]["data"] == ["hi"]
    metadata = json.loads(server("GET", "/v2/models/echo", {}, b"")[2])
    assert metadata["platform"] == "onnxruntime_onnx"
    assert metadata["inputs"] == [{"name": "TEXT", "datatype": "BYTES", "shape": [-1]}]
