"""Application Insights settings as azmlinfsrv 1.5.1 treats them; telemetry recorded, never sent.

The expectations are read from the transcripts measured with the real server
(``tests/golden/infsrv-appinsights-*.txt``): what it printed before and in its banner, and what
the user's ``init()``/``run()`` saw in ``os.environ`` (``score_appinsights.py`` returns it).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from golden_transcripts import GOLDEN, golden
from server_harness import UUID, request

from emulator.server.config import (
    APP_INSIGHTS_ENABLED,
    APP_INSIGHTS_KEY,
    ServerConfig,
    check_app_insights,
    cli_environment,
)
from emulator.server.logs import print_banner
from emulator.server.telemetry import format_duration, telemetry_path

KEY = "11111111-2222-4333-8444-555555555555"
FLAG = "--appinsights_instrumentation_key"
#: The settings cases (the other two transcripts record a failing init() and streaming).
MEASURED = sorted(
    path.name
    for path in GOLDEN.glob("infsrv-appinsights-*.txt")
    if not path.name.endswith(("-init-fails-enabled.txt", "-stream-enabled.txt"))
)
JSON_CT = {"Content-Type": "application/json"}


class Measured:
    """One measured start: the environment and flag it was given, and what it printed."""

    def __init__(self, name: str) -> None:
        text = golden(name).read_bytes().decode()  # keep the CRLF of the responses
        command = next(line for line in text.splitlines() if line.startswith("$ "))
        words = shlex.split(command[2:])
        self.env = dict(word.split("=", 1) for word in words[: words.index("azmlinfsrv")])
        flags = words[words.index("azmlinfsrv") + 1 :]
        # the recording's command line lost an empty argument: a trailing flag had ""
        self.key = [*flags, ""][flags.index(FLAG) + 1] if FLAG in flags else None
        server, _, requests = text.partition("\n## requests\n")
        lines = server.splitlines()
        start = lines.index("Use the --model_dir command line argument to set it.") + 1
        self.notices = lines[start : lines.index("", start)]
        self.banner = [line for line in lines if line.startswith("Application Insights ")]
        first_body = requests.split("\r\n\r\n", 1)[1].split("\n", 1)[0]
        self.seen = json.loads(first_body)  # what the user's run() found in os.environ


def emulated(measured: Measured) -> dict[str, str]:
    env = cli_environment(
        measured.env, entry_script="score.py", appinsights_instrumentation_key=measured.key
    )
    return env


@pytest.mark.parametrize("name", MEASURED)
def test_settings_check_prints_and_exports_what_azmlinfsrv_does(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    measured = Measured(name)
    env = emulated(measured)
    notices = check_app_insights(env)
    assert notices == measured.notices
    # the values exported to the workers, which the user's code reads
    assert {k: env.get(k) for k in (APP_INSIGHTS_ENABLED, APP_INSIGHTS_KEY)} == measured.seen
    print_banner(ServerConfig.from_env(env), 5001, 5001, env, notices)
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if line.startswith("Application Insights ")] == measured.banner
    model_notice = out.index("Use the --model_dir command line argument to set it.")
    assert out[model_notice + 1 : model_notice + 1 + len(notices)] == notices


def test_measured_cases_cover_the_rules() -> None:
    """The transcripts span the rules the check implements (a case missing would go untested)."""
    seen = {name: Measured(name).seen[APP_INSIGHTS_ENABLED] for name in MEASURED}
    assert seen["infsrv-appinsights-cli-valid-key.txt"] == "true"
    assert seen["infsrv-appinsights-cli-over-env.txt"] == "true"
    for off in ("none", "cli-invalid-key", "env-enabled-no-key", "env-key-only", "cli-empty-key"):
        assert seen[f"infsrv-appinsights-{off}.txt"] == "false"
    assert seen["infsrv-appinsights-env-enabled-uppercase.txt"] == "false"


def test_only_a_valid_key_enables_the_client() -> None:
    for key, enabled in ((KEY, True), (KEY.upper(), True), (f" {KEY}", False), ("abc", False)):
        env = cli_environment({}, entry_script="s.py", appinsights_instrumentation_key=key)
        check_app_insights(env)
        assert ServerConfig.from_env(env).app_insights_enabled is enabled, key


def test_duration_format() -> None:
    # azmlinfsrv's "[D.]HH:MM:SS.mmm"
    assert format_duration(1.9) == "00:00:00.001"
    assert format_duration(61_250) == "00:01:01.250"
    assert format_duration(90_000_000) == "1.01:00:00.000"


def test_replica_telemetry_sits_next_to_its_log() -> None:
    log = Path("/r/runtime/logs/s-1/svc-abc123-0-1234abcd.log")
    assert telemetry_path(log) == log.with_name("svc-abc123-0-1234abcd.telemetry.jsonl")


def records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_enabled_server_records_instead_of_sending(start_server, tmp_path: Path) -> None:
    telemetry = tmp_path / "telemetry.jsonl"
    server = start_server(
        "score_appinsights.py", FLAG, KEY, AZUREML_EMULATOR_TELEMETRY_FILE=str(telemetry)
    ).wait_ready()
    measured = Measured("infsrv-appinsights-cli-valid-key.txt")
    ok = request(server.port, "POST", "/score", {**JSON_CT, "x-ms-client-request-id": "c-1"}, b"{}")
    assert json.loads(ok.body) == measured.seen
    failed = request(server.port, "POST", "/score", JSON_CT, b'"raise"')
    assert failed.status == 500
    request(server.port, "GET", "/")  # liveness: never a request item
    request(server.port, "GET", "/swagger.json")
    server.wait_for_log("GET /swagger.json 200")
    out = server.stdout
    for line in (*measured.notices, *measured.banner):
        assert f"{line}\n" in out
    assert f"[emulator] Application Insights telemetry is recorded in {telemetry}" in out
    # azmlinfsrv logs the exported exception on azmlinfsrv.trace, before its own error line
    tuple_line = out.index("azmlinfsrv.trace - (<class 'emulator.server.user_script.")
    assert tuple_line < out.index("azmlinfsrv - Encountered Exception: Traceback")

    items = records(telemetry)
    requests = [item for item in items if item["type"] == "request"]
    assert [(r["name"], r["resultCode"], r["success"]) for r in requests] == [
        ("/score", "200", True),
        ("/score", "500", False),
        ("/swagger.json", "200", True),
    ]
    first = requests[0]
    assert first["Request Id"] == ok.header("x-request-id") and UUID.match(str(first["Request Id"]))
    assert first["Client Request Id"] == "c-1"
    assert first["Response Value"] == ok.body.decode()
    assert first["url"] == f"http://127.0.0.1:{server.port}/score"
    assert first["http_method"] == "POST" and str(first["duration"]).startswith("00:00:")
    (exception,) = [item for item in items if item["type"] == "exception"]
    assert exception["Request Id"] == failed.header("x-request-id")
    assert "ValueError: boom from run()" in str(exception["exception"])
    traces = [item["message"] for item in items if item["type"] == "trace"]
    # print() is exported; the user's own logger is not (1.5.1 attaches to its loggers only)
    assert f"init: AML_APP_INSIGHTS_KEY='{KEY}'" in traces and "run: called" in traces
    assert not any("warning from the user's logger" in str(message) for message in traces)


def test_disabled_server_records_nothing(start_server, tmp_path: Path) -> None:
    telemetry = tmp_path / "telemetry.jsonl"
    server = start_server(
        "score_appinsights.py", FLAG, "not-a-key", AZUREML_EMULATOR_TELEMETRY_FILE=str(telemetry)
    ).wait_ready()
    measured = Measured("infsrv-appinsights-cli-invalid-key.txt")
    reply = request(server.port, "POST", "/score", JSON_CT, b'"raise"')
    assert reply.status == 500
    assert json.loads(request(server.port, "POST", "/score", JSON_CT, b"{}").body) == measured.seen
    server.wait_for_log('"POST /score HTTP/1.1" 200')
    for line in (*measured.notices, *measured.banner):
        assert f"{line}\n" in server.stdout
    assert "azmlinfsrv.trace - (<class" not in server.stdout
    assert not telemetry.exists()
    # a user's named logger: Python's basic format on stderr, as recorded
    recorded = golden("infsrv-appinsights-cli-invalid-key.txt").read_text().splitlines()
    (warning,) = [line for line in recorded if line.startswith("WARNING:userlog:")]
    assert f"{warning}\n" in server.stderr


def test_failed_init_is_exported_then_waits(start_server, tmp_path: Path) -> None:
    # infsrv-appinsights-init-fails-enabled.txt: the exception, then a 30 s wait (scaled here)
    telemetry = tmp_path / "telemetry.jsonl"
    server = start_server(
        "score_init_fails.py",
        FLAG,
        KEY,
        AZUREML_EMULATOR_TELEMETRY_FILE=str(telemetry),
        AZUREML_EMULATOR_TIME_SCALE="0.02",
    )
    assert server.wait_exit() == 3
    recorded = golden("infsrv-appinsights-init-fails-enabled.txt").read_text()
    waits = [line.split(" - ", 1)[1] for line in recorded.splitlines() if "Waiting" in line]
    assert waits == [
        "Waiting for logs to be sent to Application Insights before exit.",
        "Waiting 30 seconds for upload.",
    ]
    for line in waits:
        assert f"azmlinfsrv.trace - {line}" in server.stdout
    (exception,) = [item for item in records(telemetry) if item["type"] == "exception"]
    assert exception["Request Id"] == "Unknown"


def recorded_answers(name: str) -> dict[str, tuple[str, list[str], bytes]]:
    """The curl answers of a timed transcript, by ``mode``: status line, header names, body."""
    text = golden(name).read_bytes().decode()
    requests = text.split("\n## request\n", 1)[1].split("\n## server output\n", 1)[0]
    answers = {}
    for case in requests.split("$ curl")[1:]:
        mode = case.split("mode=", 1)[1].split("'", 1)[0]
        timed = case.split("\n")[2:]  # each line: "+S.SSSs " then what curl printed
        lines = [line.split(" ", 1)[1] if " " in line else "" for line in timed]
        blank = lines.index("\r")
        head = [line.rstrip("\r") for line in lines[:blank]]
        names = [h.split(": ", 1)[0] for h in head[1:]]
        kept = [n for n in names if n not in ("Server", "Date", "Connection")]
        body = "\n".join(lines[blank + 1 :]).strip("\n")
        answers[mode] = (head[0], kept, body.encode())
    return answers


def test_streams_are_read_whole_for_the_request_item(start_server, tmp_path: Path) -> None:
    # infsrv-appinsights-stream-enabled.txt: 1.5.1 reads a streamed body to record it, so the
    # answer goes out whole (Content-Length last), and a generator raising becomes Flask's 500
    telemetry = tmp_path / "telemetry.jsonl"
    server = start_server(
        "score_stream.py", FLAG, KEY, AZUREML_EMULATOR_TELEMETRY_FILE=str(telemetry)
    ).wait_ready()
    recorded = recorded_answers("infsrv-appinsights-stream-enabled.txt")
    for mode, (status_line, names, body) in recorded.items():
        reply = request(
            server.port, "POST", f"/score?mode={mode}", {"Content-Type": "text/plain"}, b"hi"
        )
        assert (reply.status_line, reply.names()) == (status_line, names), mode
        assert reply.body.rstrip(b"\n") == body, mode
    server.wait_for_log("POST /score?mode=raise0 500 ")
    assert "POST /score?mode=raise 200 " in server.stdout  # logged first, as 1.5.1 does
    items = [item for item in records(telemetry) if item["type"] == "request"]
    assert [item["resultCode"] for item in items] == ["200", "500", "500"]
    assert items[0]["Response Value"] == "chunk 0\nchunk 1\nchunk 2\n"


def test_standalone_server_records_under_the_emulator_root(start_server, tmp_path: Path) -> None:
    # amlemu serve without AZUREML_EMULATOR_TELEMETRY_FILE: one file per start, named in the log
    root = tmp_path / "root"
    server = start_server("score_appinsights.py", FLAG, KEY, AZUREML_EMULATOR_ROOT=str(root))
    server.wait_ready()
    request(server.port, "POST", "/score", JSON_CT, b"{}")
    server.wait_for_log("POST /score 200")
    (path,) = (root / "runtime" / "logs" / "serve").glob("*.telemetry.jsonl")
    assert f"Application Insights telemetry is recorded in {path} (nothing" in server.stdout
    assert any(item["type"] == "request" for item in records(path))
