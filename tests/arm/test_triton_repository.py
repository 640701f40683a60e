"""A Triton model repository as the V2 server loads and answers it, without HTTP: what
Triton refuses at load (another backend, a config that is not the graph's, no version) and the
protocol's corners the official client does not reach here (outputs asked by name in JSON,
malformed bodies, compressed bodies, wrong methods and routes)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from emulator.server.triton.app import TritonServer
from emulator.server.triton.config import ConfigError, parse_text_proto
from emulator.server.triton.repository import RepositoryError
from tests.arm.triton_support import CONFIG, repository


def _infer(server: TritonServer, document: object, **headers: str) -> tuple[int, dict]:
    status, answer_headers, body = server(
        "POST", "/v2/models/simple/infer", headers, json.dumps(document).encode()
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
