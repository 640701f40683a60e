"""In-process checks of the server's pieces: compatibility classes, inputs, headers, settings."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from werkzeug.wrappers import Request

from emulator.server import command, forked, raw_http
from emulator.server.config import ConfigError, ServerConfig, cli_environment
from emulator.server.contrib import aml_request
from emulator.server.contrib.aml_response import AMLResponse
from emulator.server.headers import RequestIds, cors_headers
from emulator.server.inputs import query_object, request_headers
from emulator.server.messages import HttpRequest
from emulator.server.serialization import to_response
from emulator.server.swagger import version_error
from emulator.server.user_script import UserScriptError, _analyse


def make_request(*headers: tuple[str, str], method: str = "GET") -> HttpRequest:
    return HttpRequest(method, "/score", "/score", "", headers, b"")


def test_aml_response_shapes() -> None:
    raw = AMLResponse("body", 201, {"X-Custom": "a, b", "Content-Type": "text/plain"})
    assert raw.get_data() == b"body"
    assert list(raw.headers.items()) == [
        ("Content-Length", "4"),
        ("x-ms-run-function-failed", "False"),
        ("X-Custom", "a"),
        ("X-Custom", "b"),
        ("Content-Type", "text/plain"),
    ]
    assert AMLResponse("x", 200).headers["Content-Type"] == "text/html; charset=utf-8"
    as_json = AMLResponse({"k": [1]}, 400, json_str=True, run_function_failed=True)
    assert (as_json.get_data(), as_json.mimetype) == (b'{"k": [1]}', "application/json")
    assert as_json.headers["x-ms-run-function-failed"] == "True"
    assert AMLResponse(None, 200).get_data() == b"{}"


def test_response_outputs_keep_status_and_force_failure_flag() -> None:
    response = to_response(AMLResponse({"err": "bad"}, 503, json_str=True))
    assert (response.status, response.reason_phrase) == (503, "SERVICE UNAVAILABLE")
    assert ("x-ms-run-function-failed", "True") in response.headers
    assert to_response("text").body == b'"text"'
    assert to_response(None).body == b"{}"
    with pytest.raises(TypeError):
        to_response({1, 2})


def test_rawhttp_flag_and_request_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(raw_http, "_raw_http_requested", False)  # restored afterwards

    def run(request: object) -> object:
        return request

    assert not raw_http.raw_http_requested()
    assert aml_request.rawhttp(run) is run
    assert raw_http.raw_http_requested()
    assert issubclass(aml_request.AMLRequest, Request)


def test_query_object() -> None:
    # research section 5: ?a=1&b=[1,2]&c=x&d=null&c=y
    assert query_object("a=1&b=%5B1,2%5D&c=x&d=null&c=y") == {
        "a": 1,
        "b": [1, 2],
        "c": ["x", "y"],
        "d": None,
    }
    assert json.dumps(query_object("")) == "{}"


def test_request_headers_are_wsgi_named() -> None:
    request = make_request(("x-ms-client-request-id", "c"), ("X-A", "1"), ("x-a", "2"))
    assert request_headers(request) == {"X-Ms-Client-Request-Id": "c", "X-A": "1,2"}


def test_request_id_rules() -> None:
    ids = RequestIds.of(make_request(("x-request-id", "r"), ("x-ms-client-request-id", "c")))
    assert ids.headers() == [
        ("x-request-id", "r"),
        ("x-ms-request-id", "c"),
        ("x-ms-client-request-id", "c"),
    ]
    legacy = RequestIds.of(make_request(("x-ms-request-id", "l"), ("x-ms-client-request-id", "c")))
    assert (legacy.legacy_id, legacy.client_id) == ("l", "c")
    empty = RequestIds.of(make_request(("x-request-id", "")))
    assert empty.headers() == []  # research: an empty x-request-id suppresses both ids
    too_long = RequestIds.of(make_request(("x-request-id", "a" * 101)))
    assert too_long.rejection is not None and too_long.rejection.status == 431


def test_cors_rules() -> None:
    origins = ("https://a.example", "https://b.example")
    assert cors_headers((), make_request(("Origin", "https://a.example"))) == []
    assert cors_headers(origins, make_request(("Origin", "HTTPS://A.EXAMPLE")))[0] == (
        "Access-Control-Allow-Origin",
        "HTTPS://A.EXAMPLE",
    )
    unmatched = make_request(
        ("Origin", "https://a.example"), ("Access-Control-Request-Method", "PUT")
    )
    assert cors_headers(origins, HttpRequest("OPTIONS", *_parts(unmatched))) == [
        ("Access-Control-Allow-Origin", "https://a.example"),
        ("Vary", "Origin"),
    ]


def _parts(request: HttpRequest) -> tuple[str, str, str, tuple[tuple[str, str], ...], bytes]:
    return request.target, request.path, request.query, request.headers, request.body


def test_run_signature_rules() -> None:
    def init() -> None:
        pass

    def headers_only(request_headers: dict[str, str]) -> None:
        pass

    def keyword_ok(*, data: str, request_headers: dict[str, str]) -> None:
        pass

    with pytest.raises(UserScriptError, match='other than "request_headers"'):
        _analyse(init, headers_only)
    script = _analyse(init, keyword_ok)
    assert (script.wants_headers, [p.name for p in script.parameters]) == (True, ["data"])


def test_settings_from_flags_and_environment(tmp_path: Path) -> None:
    env = cli_environment(
        {}, entry_script="score.py", model_dir="models/m/1", port=0, cwd=str(tmp_path)
    )
    assert env["AML_APP_ROOT"] == str(tmp_path)
    assert env["AZUREML_MODEL_DIR"] == "models/m/1"  # as given, not resolved
    assert (env["SERVER_PORT"], env["HEALTH_PORT"], env["WORKER_COUNT"]) == ("0", "0", "1")
    assert env["HTTP_X_MS_SERVER_VERSION"] == "azmlinfsrv/1.5.1"
    config = ServerConfig.from_env(env)
    assert (config.port, config.scoring_timeout_ms, config.health_port) == (0, 3_600_000, None)
    (tmp_path / "config.json").write_text(json.dumps({"SCORING_TIMEOUT_MS": 5, "extra": 1}))
    assert ServerConfig.from_env(env).scoring_timeout_ms == 5
    assert ServerConfig.from_env({**env, "SCORING_TIMEOUT_MS": "7"}).scoring_timeout_ms == 7
    with pytest.raises(ConfigError, match="Configuration Error"):
        ServerConfig.from_env({**env, "WORKER_COUNT": "x"})
    off = cli_environment({"SERVER_VERSION_LOG_RESPONSE_ENABLED": "false"}, entry_script="s.py")
    assert "HTTP_X_MS_SERVER_VERSION" not in off


def test_swagger_version_errors() -> None:
    documents = {"2": {}, "3": None, "3.1": {}}
    assert version_error("2.0", documents) is None
    assert version_error("4", documents) == (
        "Swagger version [4] is not valid. Supported versions: [2, 3.1]."
    )
    assert version_error("3", documents) == (
        "Swagger version [3] is not supported for the scoring script. "
        "Supported swagger versions: [2, 3.1]."
    )


def test_serve_command_has_azmlinfsrv_flags() -> None:
    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers())
    args = parser.parse_args(
        ["serve", "--entry_script", "s.py", "--port", "0", "--worker_count", "2", "--rest"]
    )
    assert (args.entry_script, args.port, args.worker_count, args.handler) == (
        "s.py",
        0,
        2,
        command.serve,
    )
    for bad in (["--port", "70000"], ["--worker_count", "0"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["serve", *bad])


def test_a_forked_worker_reaped_elsewhere_still_reads_as_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pool waits for every worker it replaces: a worker whose status was taken by someone
    else (``waitpid`` raises ChildProcessError) must still end the wait, as killed."""
    child = subprocess.Popen([sys.executable, "-c", ""])

    def reaped(pid: int, options: int) -> tuple[int, int]:
        raise ChildProcessError(10, "No child processes")

    monkeypatch.setattr(forked.os, "waitpid", reaped)

    async def watch() -> int:
        return await asyncio.wait_for(forked.ForkedWorker(child.pid).wait(), 30)

    assert asyncio.run(watch()) == -9
    monkeypatch.undo()
    child.wait()
