"""Replays for the other calling conventions: inference-schema, @rawhttp, request_headers, CORS.

Expectations are copied from the transcripts named in each test (``research/golden/``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
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
    pytest.importorskip("inference_schema")  # the scoring script's own dependency
    return start_module_server("score_schema.py", "--model_dir", str(model_dir)).wait_ready()


@pytest.fixture(scope="module")
def raw_server(start_module_server) -> ServerProcess:
    return start_module_server("score_raw.py").wait_ready()


@pytest.mark.parametrize(
    ("transcript", "headers", "body", "status", "expected"),
    [
        (
            "infsrv-schema-good.txt",
            JSON_CT,
            b'{"data": [[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]}',
            "200 OK",
            b"[0, 2]",
        ),
        (
            "infsrv-schema-wrong-content-type.txt",
            {"Content-Type": "text/plain"},
            b'{"data": [[5.1,3.5,1.4,0.2]]}',
            "415 UNSUPPORTED MEDIA TYPE",
            b'{"message": "Expects Content-Type to be application/json"}',
        ),
        (
            "infsrv-schema-malformed-json.txt",
            JSON_CT,
            b'{"data": [[5.1,',
            "400 BAD REQUEST",
            b'{"message": "POST body could not be decoded as JSON: Expecting value: '
            b'line 1 column 16 (char 15)"}',
        ),
        (
            "infsrv-schema-empty-body.txt",
            JSON_CT,
            b"",
            "400 BAD REQUEST",
            b'{"message": "POST body is empty. Expecting a JSON dictionary."}',
        ),
        (
            "infsrv-schema-missing-param.txt",
            JSON_CT,
            b'{"foo": 1}',
            "400 BAD REQUEST",
            b'{"message": "A value is not provided for the \'data\' parameter."}',
        ),
        (
            "research: a JSON list is refused",
            JSON_CT,
            b"[1, 2]",
            "400 BAD REQUEST",
            b'{"message": "POST body should be a JSON dictionary."}',
        ),
        (
            "research: application/*+json counts as JSON",
            {"Content-Type": "application/vnd.api+json"},
            b'{"data": [[5.1,3.5,1.4,0.2]], "GlobalParameters": {"method": "x"}}',
            "200 OK",
            b"[0]",
        ),
        (
            "infsrv-schema-bad-shape.txt",
            JSON_CT,
            b'{"data": [[1,2]]}',
            "500 INTERNAL SERVER ERROR",
            b'{"message": "An unexpected error occurred in scoring script. '
            b'Check the logs for more info."}',
        ),
    ],
)
def test_schema_post(
    schema_server: ServerProcess,
    transcript: str,
    headers: dict[str, str],
    body: bytes,
    status: str,
    expected: bytes,
) -> None:
    reply = request(schema_server.port, "POST", "/score", headers, body)
    assert reply.status_line == f"HTTP/1.1 {status}"
    assert reply.body == expected
    assert reply.header("x-ms-run-function-failed") == ("True" if "500" in status else "False")
    if not status.startswith("200"):
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


def test_rawhttp_get(raw_server: ServerProcess) -> None:
    # infsrv-rawhttp-get.txt
    reply = request(raw_server.port, "GET", "/score?x=1&y=two")
    assert reply.status_line == "HTTP/1.1 200 OK"
    assert reply.body == (
        b'{"type": "LocalProxy", "method": "GET", "content_type": null, "len": 0, '
        b'"args": {"x": "1", "y": "two"}}'
    )
    assert "run() is decorated with @rawhttp." in raw_server.stdout


def test_rawhttp_post(raw_server: ServerProcess) -> None:
    # infsrv-rawhttp-post.txt
    reply = request(
        raw_server.port, "POST", "/score?a=1", {"Content-Type": "text/csv"}, b"a,b\n1,2\n"
    )
    assert reply.status_line == "HTTP/1.1 200 OK"
    assert reply.names() == [
        "Content-Length",
        "x-ms-run-function-failed",
        "Content-Type",
        "X-Extra",
        "x-ms-run-fn-exec-ms",
        "x-ms-server-version",
        "x-request-id",
        "x-ms-request-id",
    ]
    assert reply.body == (
        b'{"type": "LocalProxy", "method": "POST", "content_type": "text/csv", "len": 8, '
        b'"args": {"a": "1"}}'
    )


def test_rawhttp_options_reaches_run(raw_server: ServerProcess) -> None:
    # infsrv-rawhttp-options.txt
    reply = request(raw_server.port, "OPTIONS", "/score")
    assert reply.status_line == "HTTP/1.1 500 INTERNAL SERVER ERROR"
    assert reply.header("Content-Type") == "text/html; charset=utf-8"
    assert reply.header("x-ms-run-function-failed") == "True"
    assert reply.header("x-ms-run-fn-exec-ms") is not None
    assert reply.body == b"bad method"


def test_request_headers_argument(start_server) -> None:
    # infsrv-request-headers-get.txt
    server = start_server("score_headers.py").wait_ready()
    reply = request(server.port, "GET", "/score?a=1&b=%5B1,2%5D&c=x&d=null&c=y")
    assert json.loads(reply.body) == {
        "data": '{"a": 1, "b": [1, 2], "c": ["x", "y"], "d": null}',
        "headers": {
            "Host": f"127.0.0.1:{server.port}",
            "User-Agent": "curl/7.88.1",
            "Accept": "*/*",
            "Connection": "close",
        },
    }
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
    reply = request(server.port, "POST", "/score", {"Origin": "https://b.example"}, b"{}")
    assert reply.names() == [
        "Content-Type",
        "Content-Length",
        "x-ms-run-function-failed",
        "x-ms-run-fn-exec-ms",
        "Access-Control-Allow-Origin",
        "Vary",
        "x-ms-server-version",
        "x-request-id",
        "x-ms-request-id",
    ]
    assert reply.header("Access-Control-Allow-Origin") == "https://b.example"
    assert reply.header("Vary") == "Origin"
    assert reply.body == b'{"ok": true}'
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
