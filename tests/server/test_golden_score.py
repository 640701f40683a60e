"""Replays of azmlinfsrv 1.5.1's recorded ``curl -i`` transcripts against the emulator.

Requests and expectations are read from the transcripts at test time (``tests/golden/``,
byte-identical copies of ``research/golden/``; see ``golden_transcripts.py``). Headers gunicorn
adds (``Server``, ``Connection: close``) and ``Date`` are not compared: the emulator keeps
connections alive and does not claim to be gunicorn. Cases marked "research:" come from the
research notes, not from a transcript, and keep their expectations here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from golden_transcripts import assert_replays, golden, load, replay
from server_harness import SCRIPTS, UUID, Reply, ServerProcess, exchange, request

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
JSON_CT = {"Content-Type": "application/json"}
INTERNAL = "An unexpected internal error occurred. Check the logs for more info."


@pytest.fixture(scope="module")
def server(start_module_server, model_dir: Path) -> ServerProcess:
    # SCORING_TIMEOUT_MS=1000: infsrv-score-timeout.txt was recorded with it
    return start_module_server(
        "score_probe.py", "--model_dir", str(model_dir), SCORING_TIMEOUT_MS="1000"
    ).wait_ready()


def check_ids(reply: Reply) -> None:
    """A fresh UUID4 in x-request-id, repeated in x-ms-request-id (every transcript)."""
    assert UUID.match(reply.header("x-request-id") or "")
    assert reply.header("x-ms-request-id") == reply.header("x-request-id")
    assert reply.header("x-ms-server-version") == "azmlinfsrv/1.5.1"


TRANSCRIPTS = [
    "infsrv-score-good.txt",
    "infsrv-score-malformed-json.txt",
    "infsrv-score-empty-body.txt",
    "infsrv-score-missing-key.txt",
    "infsrv-score-str-error.txt",
    "infsrv-score-wrong-content-type.txt",
    "infsrv-score-no-content-type.txt",
    "infsrv-score-run-raises.txt",
    "infsrv-score-returns-numpy.txt",
    "infsrv-score-returns-bytes.txt",
    "infsrv-score-returns-dict.txt",
    "infsrv-score-returns-aml.txt",
    "infsrv-score-returns-aml500.txt",
    "infsrv-score-timeout.txt",
    "infsrv-liveness.txt",
    "infsrv-head-liveness.txt",
    "infsrv-get-score-noquery.txt",
    "infsrv-options-score.txt",
    "infsrv-put-score.txt",
    "infsrv-post-root.txt",
    "infsrv-unknown-path.txt",
    "infsrv-swagger.txt",
    "infsrv-swagger-bad-version.txt",
    "infsrv-reqid-x-request-id.txt",
    "infsrv-reqid-client-request-id.txt",
    "infsrv-reqid-too-long.txt",
    "infsrv-client-reqid-too-long.txt",
]


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_transcript(server: ServerProcess, name: str) -> None:
    transcript = load(name)
    assert_replays(replay(server.port, transcript), transcript)


def test_non_utf8_body(server: ServerProcess) -> None:
    # infsrv-score-non-utf8-body.txt: the body (nonutf8.bin) was the bytes FF FE
    transcript = load("infsrv-score-non-utf8-body.txt")
    assert_replays(replay(server.port, transcript, body=b"\xff\xfe"), transcript)


@pytest.mark.parametrize(
    ("case", "body", "status", "names", "failed", "expected"),
    [
        (
            "research: np.int64 is not serializable either",
            b'"npint"',
            "500 INTERNAL SERVER ERROR",
            FAILED,
            "False",
            json.dumps({"message": INTERNAL}).encode(),
        ),
        ("research: None is sent as {}", b'"none"', "200 OK", GOOD, "False", b"{}"),
    ],
    ids=["npint", "none"],
)
def test_research_cases(
    server: ServerProcess,
    case: str,
    body: bytes,
    status: str,
    names: list[str],
    failed: str,
    expected: bytes,
) -> None:
    reply = request(server.port, "POST", "/score", JSON_CT, body)
    assert reply.status_line == f"HTTP/1.1 {status}"
    assert reply.names() == names
    assert reply.header("x-ms-run-function-failed") == failed
    assert reply.body == expected
    check_ids(reply)


def test_exec_ms_has_three_decimals(server: ServerProcess) -> None:
    # infsrv-score-good.txt: x-ms-run-fn-exec-ms: 0.539
    reply = request(server.port, "POST", "/score", JSON_CT, b'"dict"')
    whole, _, decimals = (reply.header("x-ms-run-fn-exec-ms") or "").partition(".")
    assert whole.isdigit() and len(decimals) == 3


def test_get_score_query_is_json_parsed(server: ServerProcess) -> None:
    # infsrv-request-log-lines.txt: GET /score?data=%5B%5B5.1,3.5,1.4,0.2%5D%5D&x=abc&x=2 → [0]
    reply = request(server.port, "GET", "/score?data=%5B%5B5.1,3.5,1.4,0.2%5D%5D&x=abc&x=2")
    assert reply.body == b"[0]"


@pytest.mark.parametrize(
    ("case", "path"),
    [("research: trailing slash", "/score/"), ("research: KServe health", "/v2/health/ready")],
    ids=["trailing-slash", "kserve-health"],
)
def test_other_paths(server: ServerProcess, case: str, path: str) -> None:
    # the same answer as infsrv-unknown-path.txt
    expected = load("infsrv-unknown-path.txt")
    reply = request(server.port, "GET", path)
    assert reply.status_line == expected.status_line
    assert reply.names() == [
        k for k, _ in expected.headers if k not in ("Server", "Date", "Connection")
    ]
    assert reply.body == expected.body


def test_swagger_versions(server: ServerProcess) -> None:
    # research: ?version=3 and 3.1 are the OpenAPI 3 documents (infsrv-swagger.txt is version 2)
    for version, openapi in (("3", "3.0.3"), ("3.1", "3.1.0")):
        reply = request(server.port, "GET", f"/swagger.json?version={version}")
        assert json.loads(reply.body)["openapi"] == openapi


def test_request_ids(server: ServerProcess) -> None:
    # research section 4: the legacy header is echoed as both and logs a deprecation warning
    reply = request(server.port, "POST", "/score", {"x-ms-request-id": "legacy1"}, b"{}")
    assert reply.header("x-ms-request-id") == reply.header("x-ms-client-request-id") == "legacy1"
    server.wait_for_log("x-ms-request-id header has been deprecated")
    # research: TraceId is echoed last
    reply = request(server.port, "GET", "/", {"TraceId": "tr1"})
    assert (reply.names()[-1], reply.header("TraceId")) == ("TraceId", "tr1")
    # research: exactly 100 characters is fine (infsrv-reqid-too-long.txt: 101 is refused)
    reply = request(server.port, "POST", "/score", {"x-request-id": "a" * 100}, b'"dict"')
    assert reply.status == 200 and reply.header("x-request-id") == "a" * 100


def test_header_too_large(server: ServerProcess) -> None:
    # infsrv-header-too-large.txt: the 9007-byte -H argument was elided from the recording
    transcript = load("infsrv-header-too-large.txt")
    reply = replay(server.port, transcript, headers=[("X-Big", "x" * 9000)])
    assert_replays(reply, transcript)


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
    """infsrv-startup-log.txt: the settings block as printed, and the worker's start-up lines
    in order (the recording's placeholders, port and pids replaced by this run's)."""
    recorded = golden("infsrv-startup-log.txt").read_text()
    worker = server.worker_pids()[0]
    for placeholder, value in (
        ("<app>/score.py", str((SCRIPTS / "score_probe.py").resolve())),
        ("<models>/azureml-models/sklearn-iris/1", str(model_dir)),
        ("31311", str(server.port)),
        ("6471", str(worker)),
        ("Scoring timeout is set to 3600000", "Scoring timeout is set to 1000"),  # this server's
    ):
        recorded = recorded.replace(placeholder, value)
    out = server.stdout
    settings = recorded[recorded.index("Server Settings\n") : recorded.index("\n\n2026-")]
    assert settings in out
    # the worker's lines from the app insights client to ready, as logger - message, in order
    lines = recorded.splitlines()
    first = next(i for i, line in enumerate(lines) if "Starting up app insights client" in line)
    last = next(i for i, line in enumerate(lines) if "ready for serving traffic" in line)
    position = 0
    for line in lines[first : last + 1]:
        message = line.split("] ", 1)[1]
        found = out.find(f"[{worker}] {message}\n", position)
        assert found >= 0, f"{message!r} not logged in order:\n{out}"
        position = found
    assert f"gunicorn.error - Listening at: http://127.0.0.1:{server.port} (" in server.stderr
