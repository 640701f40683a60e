"""Replays of azmlinfsrv 1.5.1's recorded ``curl -i`` transcripts against the emulator.

Expectations are copied from the transcripts named in each case (``research/golden/``; not read
at test time). Headers gunicorn adds (``Server``, ``Connection: close``) and ``Date`` are not
compared: the emulator keeps connections alive and does not claim to be gunicorn.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from server_harness import UUID, Reply, ServerProcess, exchange, request

GOOD = [
    "Content-Type",
    "Content-Length",
    "x-ms-run-function-failed",
    "x-ms-run-fn-exec-ms",
    "x-ms-server-version",
    "x-request-id",
    "x-ms-request-id",
]
FAILED = [name for name in GOOD if name != "x-ms-run-fn-exec-ms"]
REDUCED = ["Content-Type", "Content-Length", "x-ms-run-function-failed"]
JSON_CT = {"Content-Type": "application/json"}
SEED = "An unexpected error occurred in scoring script. Check the logs for more info."
INTERNAL = "An unexpected internal error occurred. Check the logs for more info."
DATA = b"\"'data'\""  # str(KeyError('data')), JSON-encoded


@pytest.fixture(scope="module")
def server(start_module_server, model_dir: Path) -> ServerProcess:
    return start_module_server(
        "score_probe.py", "--model_dir", str(model_dir), SCORING_TIMEOUT_MS="1000"
    ).wait_ready()


def check_ids(reply: Reply) -> None:
    """A fresh UUID4 in x-request-id, repeated in x-ms-request-id (every transcript)."""
    assert UUID.match(reply.header("x-request-id") or "")
    assert reply.header("x-ms-request-id") == reply.header("x-request-id")
    assert reply.header("x-ms-server-version") == "azmlinfsrv/1.5.1"


CASES = [
    # transcript, body, extra headers, status line, header names, failed flag, body
    (
        "infsrv-score-good.txt",
        b'{"data": [[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]}',
        JSON_CT,
        "200 OK",
        GOOD,
        "False",
        b"[0, 2]",
    ),
    (
        "infsrv-score-malformed-json.txt",
        b'{"data": [[5.1,3.5,',
        JSON_CT,
        "200 OK",
        GOOD,
        "False",
        b'"Expecting value: line 1 column 20 (char 19)"',
    ),
    (
        "infsrv-score-empty-body.txt",
        b"",
        JSON_CT,
        "200 OK",
        GOOD,
        "False",
        b'"Expecting value: line 1 column 1 (char 0)"',
    ),
    ("infsrv-score-missing-key.txt", b'{"foo": 1}', JSON_CT, "200 OK", GOOD, "False", DATA),
    (
        "infsrv-score-str-error.txt",
        b'{"data": [[1,2]]}',
        JSON_CT,
        "200 OK",
        GOOD,
        "False",
        b'"X has 2 features, but LogisticRegression is expecting 4 features as input."',
    ),
    (
        "infsrv-score-wrong-content-type.txt",
        b'{"data": [[5.1,3.5,1.4,0.2]]}',
        {"Content-Type": "text/plain"},
        "200 OK",
        GOOD,
        "False",
        b"[0]",
    ),
    (
        "infsrv-score-no-content-type.txt",
        b'{"data": [[5.1,3.5,1.4,0.2]]}',
        {},
        "200 OK",
        GOOD,
        "False",
        b"[0]",
    ),
    (
        "infsrv-score-non-utf8-body.txt",
        b"\xff\xfe",
        {"Content-Type": "application/octet-stream"},
        "400 BAD REQUEST",
        FAILED,
        "False",
        b"{\"message\": \"Input cannot be decoded as UTF-8: 'utf-8' codec can't decode byte 0xff "
        b'in position 0: invalid start byte"}',
    ),
    (
        "infsrv-score-run-raises.txt",
        b'"raise"',
        JSON_CT,
        "500 INTERNAL SERVER ERROR",
        FAILED,
        "True",
        json.dumps({"message": SEED}).encode(),
    ),
    (
        "infsrv-score-returns-numpy.txt",
        b'"numpy"',
        JSON_CT,
        "500 INTERNAL SERVER ERROR",
        FAILED,
        "False",
        json.dumps({"message": INTERNAL}).encode(),
    ),
    (
        "infsrv-score-returns-bytes.txt",
        b'"bytes"',
        JSON_CT,
        "500 INTERNAL SERVER ERROR",
        FAILED,
        "False",
        json.dumps({"message": INTERNAL}).encode(),
    ),
    (
        "infsrv-score-returns-dict.txt",
        b'"dict"',
        JSON_CT,
        "200 OK",
        GOOD,
        "False",
        b'{"a": 1, "b": [1.5, null]}',
    ),
    (
        "research: np.int64 is not serializable either",
        b'"npint"',
        JSON_CT,
        "500 INTERNAL SERVER ERROR",
        FAILED,
        "False",
        json.dumps({"message": INTERNAL}).encode(),
    ),
    ("research: None is sent as {}", b'"none"', JSON_CT, "200 OK", GOOD, "False", b"{}"),
    (
        "infsrv-score-returns-aml500.txt",
        b'"aml500"',
        JSON_CT,
        "503 SERVICE UNAVAILABLE",
        GOOD,
        "True",
        b'{"err": "bad"}',
    ),
    (
        "infsrv-score-timeout.txt (SCORING_TIMEOUT_MS=1000, run() sleeps 3 s)",
        b'"sleep"',
        JSON_CT,
        "500 INTERNAL SERVER ERROR",
        FAILED,
        "True",
        b'{"message": "Scoring timeout after 1000 ms"}',
    ),
]


@pytest.mark.parametrize(
    ("transcript", "body", "headers", "status", "names", "failed", "expected"),
    CASES,
    ids=[case[0].split()[0] for case in CASES],
)
def test_post_score(
    server: ServerProcess,
    transcript: str,
    body: bytes,
    headers: dict[str, str],
    status: str,
    names: list[str],
    failed: str,
    expected: bytes,
) -> None:
    reply = request(server.port, "POST", "/score", headers, body)
    assert reply.status_line == f"HTTP/1.1 {status}"
    assert reply.names() == names
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("Content-Length") == str(len(expected))
    assert reply.header("x-ms-run-function-failed") == failed
    assert reply.body == expected
    check_ids(reply)


def test_exec_ms_has_three_decimals(server: ServerProcess) -> None:
    # infsrv-score-good.txt: x-ms-run-fn-exec-ms: 0.539
    reply = request(server.port, "POST", "/score", JSON_CT, b'"dict"')
    whole, _, decimals = (reply.header("x-ms-run-fn-exec-ms") or "").partition(".")
    assert whole.isdigit() and len(decimals) == 3


def test_aml_response_is_sent_as_built(server: ServerProcess) -> None:
    # infsrv-score-returns-aml.txt
    reply = request(server.port, "POST", "/score", JSON_CT, b'"aml"')
    assert reply.status_line == "HTTP/1.1 201 CREATED"
    assert [(k, v) for k, v in reply.headers if k not in ("Date", "Connection")][:5] == [
        ("Content-Length", "15"),
        ("x-ms-run-function-failed", "False"),
        ("X-Custom", "a"),
        ("X-Custom", "b"),
        ("Content-Type", "text/plain"),
    ]
    assert reply.names()[5:] == [
        "x-ms-run-fn-exec-ms",
        "x-ms-server-version",
        "x-request-id",
        "x-ms-request-id",
    ]
    assert reply.body == b"plain text body"


def test_liveness(server: ServerProcess) -> None:
    # infsrv-liveness.txt and infsrv-head-liveness.txt
    names = ["Content-Type", "Content-Length", "x-ms-server-version", "x-request-id"]
    for method, body in (("GET", b"Healthy"), ("HEAD", b"")):
        reply = request(server.port, method, "/")
        assert reply.status_line == "HTTP/1.1 200 OK"
        assert reply.names() == [*names, "x-ms-request-id"]
        assert reply.header("Content-Type") == "text/html; charset=utf-8"
        assert reply.header("Content-Length") == "7"
        assert reply.body == body
        check_ids(reply)


def test_get_score_without_query(server: ServerProcess) -> None:
    # infsrv-get-score-noquery.txt: run() gets "{}", the seed script answers "'data'"
    reply = request(server.port, "GET", "/score")
    assert (reply.status_line, reply.names(), reply.body) == ("HTTP/1.1 200 OK", GOOD, DATA)


def test_get_score_query_is_json_parsed(server: ServerProcess) -> None:
    # infsrv-request-log-lines.txt: GET /score?data=%5B%5B5.1,3.5,1.4,0.2%5D%5D&x=abc&x=2 → [0]
    reply = request(server.port, "GET", "/score?data=%5B%5B5.1,3.5,1.4,0.2%5D%5D&x=abc&x=2")
    assert reply.body == b"[0]"


def test_options_score(server: ServerProcess) -> None:
    # infsrv-options-score.txt
    reply = request(server.port, "OPTIONS", "/score")
    assert reply.status_line == "HTTP/1.1 200 OK"
    assert reply.names() == FAILED
    assert reply.header("Content-Type") == "text/html; charset=utf-8"
    assert (reply.header("Content-Length"), reply.body) == ("0", b"")


@pytest.mark.parametrize(
    ("transcript", "method", "path", "status", "message"),
    [
        ("infsrv-put-score.txt", "PUT", "/score", "405 METHOD NOT ALLOWED", "NOT_ALLOWED"),
        ("infsrv-post-root.txt", "POST", "/", "405 METHOD NOT ALLOWED", "NOT_ALLOWED"),
        ("infsrv-unknown-path.txt", "GET", "/v1/models", "404 NOT FOUND", "NOT_FOUND"),
        ("research: trailing slash", "GET", "/score/", "404 NOT FOUND", "NOT_FOUND"),
        ("research: KServe health", "GET", "/v2/health/ready", "404 NOT FOUND", "NOT_FOUND"),
    ],
)
def test_other_routes_and_methods(
    server: ServerProcess, transcript: str, method: str, path: str, status: str, message: str
) -> None:
    texts = {
        "NOT_ALLOWED": "The method is not allowed for the requested URL.",
        "NOT_FOUND": "The requested URL was not found on the server. If you entered the URL "
        "manually please check your spelling and try again.",
    }
    reply = request(server.port, method, path, body=b"{}" if method != "GET" else None)
    assert reply.status_line == f"HTTP/1.1 {status}"
    assert reply.names() == REDUCED
    assert reply.header("x-ms-run-function-failed") == "False"
    assert reply.body == json.dumps({"message": texts[message]}).encode()


def test_swagger(server: ServerProcess) -> None:
    # infsrv-swagger.txt: the generated swagger 2 document, 2198 bytes
    reply = request(server.port, "GET", "/swagger.json")
    assert reply.status_line == "HTTP/1.1 200 OK"
    assert reply.names() == FAILED
    assert reply.header("Content-Length") == "2198"
    document = json.loads(reply.body)
    assert document["swagger"] == "2.0"
    assert document["info"] == {
        "title": "ML service",
        "description": "API specification for the Azure Machine Learning service ML service",
        "version": "1.0",
    }
    assert document["definitions"]["ServiceInput"] == {"type": "object", "example": {}}
    assert list(document["paths"]) == ["/", "/score", "/swagger.json"]
    for version, openapi in (("3", "3.0.3"), ("3.1", "3.1.0")):
        reply = request(server.port, "GET", f"/swagger.json?version={version}")
        assert json.loads(reply.body)["openapi"] == openapi


def test_swagger_bad_version(server: ServerProcess) -> None:
    # infsrv-swagger-bad-version.txt
    reply = request(server.port, "GET", "/swagger.json?version=4")
    assert reply.status_line == "HTTP/1.1 404 NOT FOUND"
    assert reply.names() == FAILED
    assert reply.body == (
        b'{"message": "Swagger version [4] is not valid. Supported versions: [2, 3, 3.1]."}'
    )


def test_request_ids(server: ServerProcess) -> None:
    # infsrv-reqid-x-request-id.txt
    reply = request(server.port, "POST", "/score", {"x-request-id": "my-req-1"}, b'"dict"')
    assert (reply.header("x-request-id"), reply.header("x-ms-request-id")) == ("my-req-1",) * 2
    # infsrv-reqid-client-request-id.txt
    reply = request(server.port, "POST", "/score", {"x-ms-client-request-id": "client-42"}, b"{}")
    assert UUID.match(reply.header("x-request-id") or "")
    assert reply.names()[-2:] == ["x-ms-request-id", "x-ms-client-request-id"]
    assert reply.header("x-ms-request-id") == reply.header("x-ms-client-request-id") == "client-42"
    # research section 4: the legacy header is echoed as both and logs a deprecation warning
    reply = request(server.port, "POST", "/score", {"x-ms-request-id": "legacy1"}, b"{}")
    assert reply.header("x-ms-request-id") == reply.header("x-ms-client-request-id") == "legacy1"
    server.wait_for_log("x-ms-request-id header has been deprecated")
    # research: TraceId is echoed last
    reply = request(server.port, "GET", "/", {"TraceId": "tr1"})
    assert (reply.names()[-1], reply.header("TraceId")) == ("TraceId", "tr1")


def test_request_ids_too_long(server: ServerProcess) -> None:
    # infsrv-reqid-too-long.txt: no ids echoed
    reply = request(server.port, "POST", "/score", {"x-request-id": "a" * 101}, b'"dict"')
    assert reply.status_line == "HTTP/1.1 431 REQUEST HEADER FIELDS TOO LARGE"
    assert reply.names() == [*REDUCED, "x-ms-server-version"]
    assert reply.body == b'{"message": "x-request-id must not exceed 100 characters"}'
    # infsrv-client-reqid-too-long.txt: the generated x-request-id is still sent
    reply = request(server.port, "POST", "/score", {"x-ms-client-request-id": "c" * 101}, b"{}")
    assert reply.status_line == "HTTP/1.1 431 REQUEST HEADER FIELDS TOO LARGE"
    assert reply.names() == [*REDUCED, "x-ms-server-version", "x-request-id"]
    assert reply.body == (
        b'{"message": "x-ms-request-id and x-ms-client-request-id must not exceed 100 characters"}'
    )
    # research: exactly 100 characters is fine
    reply = request(server.port, "POST", "/score", {"x-request-id": "a" * 100}, b'"dict"')
    assert reply.status == 200 and reply.header("x-request-id") == "a" * 100


def test_header_too_large(server: ServerProcess) -> None:
    # infsrv-header-too-large.txt: gunicorn's HTML page, 229 bytes
    reply = request(server.port, "POST", "/score", {"X-Big": "x" * 9000}, b'"dict"')
    assert reply.status_line == "HTTP/1.1 431 Request Header Fields Too Large"
    assert reply.header("Content-Type") == "text/html"
    assert reply.header("Content-Length") == "229"
    assert reply.body == (
        b"<html>\n  <head>\n    <title>Request Header Fields Too Large</title>\n  </head>\n"
        b"  <body>\n    <h1><p>Request Header Fields Too Large</p></h1>\n"
        b"    Error parsing headers: &#x27;limit request headers fields size&#x27;\n"
        b"  </body>\n</html>\n"
    )


def test_request_line_too_long(server: ServerProcess) -> None:
    # research section 4: request line > 4094 bytes ⇒ gunicorn's 414 page
    reply = exchange(server.port, b"GET /score?" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.status_line == "HTTP/1.1 414 URI Too Long"
    assert b"Request Line is too large (5020 &gt; 4094)" in reply.body
    fits = b"GET /score?" + b"a" * 4074 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    assert exchange(server.port, fits).status == 200


def test_large_body(start_server, model_dir: Path) -> None:
    # infsrv-score-huge-10mb.txt: 400 000 rows scored, no size limit, 100 Continue honoured
    # (its own server: scoring takes about a second, the module server times out after one)
    server = start_server("score_probe.py", "--model_dir", str(model_dir)).wait_ready()
    rows = ",".join(["[5.1,3.5,1.4,0.2]"] * 400_000)
    body = f'{{"data": [{rows}]}}'.encode()
    reply = request(server.port, "POST", "/score", {"Expect": "100-continue", **JSON_CT}, body)
    assert reply.status == 200
    assert reply.header("Content-Length") == "1200000"
    assert reply.body.startswith(b"[0, 0, 0") and reply.body.endswith(b"0, 0]")


def test_keep_alive_and_pipelining(server: ServerProcess) -> None:
    """Unlike gunicorn's sync worker the emulator keeps connections open, in order."""
    one = b'POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n"dict"'
    two = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    reply = exchange(server.port, one + two)
    assert reply.status == 200 and reply.body.startswith(b'{"a": 1, "b": [1.5, null]}HTTP/1.1 200')
    assert reply.body.endswith(b"Healthy")


def test_request_and_access_log_lines(server: ServerProcess) -> None:
    # infsrv-request-log-lines.txt
    request(server.port, "POST", "/score", JSON_CT, b'"dict"')
    request(server.port, "HEAD", "/")
    server.wait_for_log('"HEAD / HTTP/1.1" 200 0 "-" "curl/7.88.1"')
    lines = server.stdout.splitlines()
    assert any(" I [" in line and "] azmlinfsrv - POST /score 200 " in line for line in lines)
    assert any(line.endswith("ms 26") for line in lines)
    assert any(
        "gunicorn.access - 127.0.0.1 - - [" in line
        and line.endswith('"POST /score HTTP/1.1" 200 26 "-" "curl/7.88.1"')
        for line in lines
    )
    assert not any('"GET / HTTP/1.1"' in line for line in lines)  # liveness is filtered


def test_failures_are_logged_with_tracebacks(server: ServerProcess) -> None:
    # infsrv-request-log-lines.txt: run() raising, numpy output, timeout
    request(server.port, "POST", "/score", JSON_CT, b'"raise"')
    request(server.port, "POST", "/score", JSON_CT, b'"numpy"')
    server.wait_for_log("TypeError: Object of type ndarray is not JSON serializable")
    log = server.stdout
    assert "E [" in log and "azmlinfsrv - Encountered Exception: Traceback" in log
    assert "ValueError: boom from run()" in log
    assert "The above exception was the direct cause of the following exception:" in log
    assert "Caught an unhandled exception from the user script" in log


def test_print_in_init_and_run(server: ServerProcess, model_dir: Path) -> None:
    # infsrv-startup-log.txt: print() becomes an azmlinfsrv.print line
    assert f"azmlinfsrv.print - init: AZUREML_MODEL_DIR = {model_dir}" in server.stdout
    request(server.port, "POST", "/score", JSON_CT, b'"print"')
    server.wait_for_log("azmlinfsrv.print - run: printing 42")


def test_startup_banner_and_log(server: ServerProcess, model_dir: Path) -> None:
    # infsrv-startup-log.txt
    out = server.stdout
    assert "Azure ML Inferencing HTTP server v1.5.1" in out
    assert f"Model Directory: {model_dir}\n" in out
    assert f"Score:          POST  127.0.0.1:{server.port}/score" in out
    for line in (
        "azmlinfsrv.user_script - Found user script at ",
        "run() is not decorated. Server will invoke it with the input in JSON string.",
        "azmlinfsrv.user_script - Invoking user's init function",
        "Users's init has completed successfully",
        "azmlinfsrv.swagger - Swaggers are prepared for the following versions: [2, 3, 3.1].",
        "azmlinfsrv - Scoring timeout is set to 1000",
        "ready for serving traffic",
    ):
        assert line in out
    assert f"gunicorn.error - Listening at: http://127.0.0.1:{server.port} (" in server.stderr
