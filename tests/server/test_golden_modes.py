"""Replays for the other calling conventions: inference-schema, @rawhttp, request_headers, CORS.

Requests and expectations are read from the transcripts at test time (``tests/golden/``, see
``golden_transcripts.py``); cases marked "research:" come from the research notes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from golden_transcripts import assert_replays, load, replay
from server_harness import UUID, ServerProcess, request

JSON_CT = {"Content-Type": "application/json"}
FAILED = [
    "Content-Type",
    "Content-Length",
    "x-ms-run-function-failed",
    "x-ms-server-version",
    "x-request-id",
    "x-ms-request-id",
]


@pytest.fixture(scope="module")
def schema_server(start_module_server, model_dir: Path) -> ServerProcess:
    return start_module_server("score_schema.py", "--model_dir", str(model_dir)).wait_ready()


@pytest.fixture(scope="module")
def raw_server(start_module_server) -> ServerProcess:
    return start_module_server("score_raw.py").wait_ready()


@pytest.mark.parametrize(
    "name",
    [
        "infsrv-schema-good.txt",
        "infsrv-schema-wrong-content-type.txt",
        "infsrv-schema-malformed-json.txt",
        "infsrv-schema-empty-body.txt",
        "infsrv-schema-missing-param.txt",
        "infsrv-schema-bad-shape.txt",
    ],
)
def test_schema_transcript(schema_server: ServerProcess, name: str) -> None:
    transcript = load(name)
    assert_replays(replay(schema_server.port, transcript), transcript)


@pytest.mark.parametrize(
    ("case", "headers", "body", "expected"),
    [
        (
            "research: a JSON list is refused",
            JSON_CT,
            b"[1, 2]",
            b'{"message": "POST body should be a JSON dictionary."}',
        ),
        (
            "research: application/*+json counts as JSON",
            {"Content-Type": "application/vnd.api+json"},
            b'{"data": [[5.1,3.5,1.4,0.2]], "GlobalParameters": {"method": "x"}}',
            b"[0]",
        ),
    ],
    ids=["list", "plus-json"],
)
def test_schema_research_cases(
    schema_server: ServerProcess,
    case: str,
    headers: dict[str, str],
    body: bytes,
    expected: bytes,
) -> None:
    reply = request(schema_server.port, "POST", "/score", headers, body)
    assert reply.body == expected
    assert reply.header("x-ms-run-function-failed") == "False"
    if reply.status != 200:
        assert reply.status_line == "HTTP/1.1 400 BAD REQUEST"
        assert reply.names() == FAILED


def test_schema_get_and_logs(schema_server: ServerProcess) -> None:
    reply = request(schema_server.port, "GET", "/score?data=%5B%5B5.1,3.5,1.4,0.2%5D%5D")
    assert reply.body == b"[0]"
    schema_server.wait_for_log("azmlinfsrv.print - run got ndarray (1, 4) None")
    assert (
        "run() is decorated with @input_schema. Server will invoke it with the following "
        "arguments: data, GlobalParameters." in schema_server.stdout
    )


def test_schema_swagger_has_the_schemas(schema_server: ServerProcess) -> None:
    document = json.loads(request(schema_server.port, "GET", "/swagger.json").body)
    service_input = document["definitions"]["ServiceInput"]
    assert service_input["properties"]["data"]["format"] == "numpy.ndarray"
    assert service_input["example"]["data"] == [[5.1, 3.5, 1.4, 0.2]]
    assert document["definitions"]["ServiceOutput"]["example"] == [0]


@pytest.mark.parametrize(
    "name", ["infsrv-rawhttp-get.txt", "infsrv-rawhttp-post.txt", "infsrv-rawhttp-options.txt"]
)
def test_rawhttp_transcript(raw_server: ServerProcess, name: str) -> None:
    transcript = load(name)
    assert_replays(replay(raw_server.port, transcript), transcript)
    assert "run() is decorated with @rawhttp." in raw_server.stdout


def test_request_headers_argument(start_server) -> None:
    # infsrv-request-headers-get.txt: run() got curl's headers (its Host is sent as recorded)
    server = start_server("score_headers.py").wait_ready()
    transcript = load("infsrv-request-headers-get.txt")
    assert_replays(replay(server.port, transcript), transcript)
    # research: WSGI-style names, repeated headers joined with ","
    reply = request(
        server.port,
        "POST",
        "/score",
        [("authorization", "Bearer k"), ("X-Multi", "a"), ("x-multi", "b")],
        b"{}",
    )
    headers = json.loads(reply.body)["headers"]
    assert headers["Authorization"] == "Bearer k"
    assert headers["X-Multi"] == "a,b"
    assert headers["Content-Length"] == "2"


def test_cors(start_server) -> None:
    # infsrv-cors-post.txt (AML_CORS_ORIGINS="https://a.example, https://b.example")
    server = start_server(
        "score_misbehaves.py", AML_CORS_ORIGINS="https://a.example, https://b.example"
    ).wait_ready()
    transcript = load("infsrv-cors-post.txt")
    assert_replays(replay(server.port, transcript), transcript)
    # research (flask-cors): preflight, unlisted origins, no Origin at all
    preflight = request(
        server.port,
        "OPTIONS",
        "/score",
        {
            "Origin": "https://a.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-foo",
        },
    )
    assert preflight.header("Access-Control-Allow-Headers") == "content-type, x-foo"
    assert preflight.header("Access-Control-Allow-Methods") == "GET, POST"
    evil = request(server.port, "POST", "/score", {"Origin": "https://evil.example"}, b"{}")
    assert evil.header("Access-Control-Allow-Origin") is None
    plain = request(server.port, "GET", "/")
    assert plain.header("Access-Control-Allow-Origin") == "https://a.example"
    assert request(server.port, "GET", "/nope").header("Access-Control-Allow-Origin") is None
    assert UUID.match(plain.header("x-request-id") or "")
