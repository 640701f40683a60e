"""Boot, failure and recovery: init() errors, hung and crashing run(), workers, shutdown."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from golden_transcripts import golden
from server_harness import request

#: A log line: "2026-11-24 05:52:22,137 E [10837] azmlinfsrv - message".
_LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d [\d:,]+ (?P<level>[A-Z]) \[\d+\] (?P<logger>\S+) - (?P<message>.*)$"
)
JSON_CT = {"Content-Type": "application/json"}
TIMEOUT_BODY = b'{"message": "Scoring timeout after 1000 ms"}'


def test_init_failure_exits_3_with_the_traceback(start_server, model_dir: Path) -> None:
    """infsrv-init-raises.txt: from init() to exit, the same log lines in the same order (and
    the same streams), and the traceback's lines naming the user's error."""
    server = start_server("score_init_fails.py", "--model_dir", str(model_dir))
    assert server.wait_exit() == 3
    recorded = golden("infsrv-init-raises.txt").read_text().split("# After exit")[0]
    lines = recorded.splitlines()
    start = next(i for i, line in enumerate(lines) if "Invoking user's init function" in line)
    logged = [_LOG_LINE.match(line) for line in lines[start:]]
    expected = [(m["level"], m["logger"], m["message"]) for m in logged if m]
    worker = str(server.worker_pids()[0])
    for stream, text in (("stdout", server.stdout), ("stderr", server.stderr)):
        wanted = [e for e in expected if (e[1] == "gunicorn.error") == (stream == "stderr")]
        seen = [
            (m["level"], m["logger"], m["message"].replace(worker, "10837"))
            for m in map(_LOG_LINE.match, text.splitlines())
            if m
        ]
        assert _in_order(wanted, seen), f"{stream}: {wanted} not logged in order:\n{text}"
    for line in (
        "RuntimeError: model file missing (simulated)",
        "The above exception was the direct cause of the following exception:",
    ):
        assert line in recorded and line in server.stdout
    assert 'score_init_fails.py", line 5, in init' in server.stdout
    tail = "UserScriptException: Caught an unhandled exception from the user script"
    assert tail in recorded and tail in server.stdout


def _in_order(wanted: list[tuple[str, str, str]], seen: list[tuple[str, str, str]]) -> bool:
    remaining = iter(seen)
    return all(entry in remaining for entry in wanted)


def test_requests_made_during_init_wait_for_it(start_server) -> None:
    # research section 1: the port is bound first; a request during init() waits for it
    server = start_server("score_misbehaves.py")
    reply = request(server.port, "POST", "/score", JSON_CT, b'"pid"')
    assert reply.status == 200
    assert int(reply.body) in server.worker_pids()


def test_bad_run_signature_exits_3(start_server) -> None:
    server = start_server("score_bad_signature.py")
    assert server.wait_exit() == 3
    assert "run() cannot accept positional-only arguments, *args, or **kwargs." in server.stdout


def test_invalid_setting_exits_3(start_server) -> None:
    # research section 3: a non-integer SCORING_TIMEOUT_MS is a configuration error
    server = start_server("score_misbehaves.py", SCORING_TIMEOUT_MS="abc")
    assert server.wait_exit() == 3
    assert "===============Configuration Error=================" in server.stdout
    assert "SCORING_TIMEOUT_MS: Input should be a valid integer" in server.stdout


def test_missing_entry_script_is_refused(tmp_path: Path) -> None:
    # research section 2: neither --entry_script nor --config_file ⇒ "Error!", exit 1
    env = {"PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "emulator.server", "--port", "0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "azmlinfsrv - Error!" in done.stdout
    assert "Either provide an entry_script using --entry_script" in done.stdout


def test_hung_run_times_out_and_the_worker_serves_on(start_server) -> None:
    # infsrv-score-timeout.txt: SIGALRM interrupts run(); the same worker keeps serving
    server = start_server("score_misbehaves.py", SCORING_TIMEOUT_MS="1000").wait_ready()
    started = time.monotonic()
    reply = request(server.port, "POST", "/score", JSON_CT, b'"sleep"')
    assert time.monotonic() - started < 5
    assert reply.status_line == "HTTP/1.1 500 INTERNAL SERVER ERROR"
    assert reply.header("x-ms-run-function-failed") == "True"
    assert reply.body == TIMEOUT_BODY
    assert request(server.port, "POST", "/score", JSON_CT, b'"ok"').body == b'{"ok": true}'
    assert len(server.worker_pids()) == 1
    server.wait_for_log("Script failed to finish execution within the allocated time: 1000ms")


def test_run_deaf_to_the_timeout_gets_its_worker_replaced(start_server) -> None:
    server = start_server("score_misbehaves.py", SCORING_TIMEOUT_MS="1000").wait_ready()
    first = int(request(server.port, "POST", "/score", JSON_CT, b'"pid"').body)
    started = time.monotonic()
    reply = request(server.port, "POST", "/score", JSON_CT, b'"stuck"')
    assert time.monotonic() - started < 10
    assert (reply.status, reply.body) == (500, TIMEOUT_BODY)
    assert reply.header("x-ms-run-function-failed") == "True"
    second = int(request(server.port, "POST", "/score", JSON_CT, b'"pid"').body)
    assert second != first
    assert server.worker_pids() == [first, second]
    assert f"WORKER TIMEOUT (pid:{first})" in server.stderr


def test_crashing_worker_is_replaced(start_server) -> None:
    server = start_server("score_misbehaves.py").wait_ready()
    first = int(request(server.port, "POST", "/score", JSON_CT, b'"pid"').body)
    with pytest.raises(ConnectionError):  # like gunicorn: the connection drops, no answer
        reply = request(server.port, "POST", "/score", JSON_CT, b'"crash"')
        if not reply.status_line:
            raise ConnectionResetError("closed without an answer")
    assert request(server.port, "GET", "/").status == 200
    second = int(request(server.port, "POST", "/score", JSON_CT, b'"pid"').body)
    assert second != first
    server.wait_for_log(f"Worker (pid:{first}) exited with code 1.")


def test_prints_and_logging_go_where_azmlinfsrv_sends_them(start_server) -> None:
    # infsrv-request-log-lines.txt, "user logging/print from init()"
    server = start_server("score_log.py").wait_ready()
    assert re.search(r"I \[\d+\] azmlinfsrv.print - user print to stdout", server.stdout)
    err = server.stderr
    assert "WARNING:root:user root warning\n" in err
    assert "ERROR:mylogger:user named error\n" in err
    assert "user print to stderr\n" in err
    assert "user root info" not in server.stdout + err


def test_workers_serve_concurrently(start_server) -> None:
    server = start_server(
        "score_misbehaves.py", "--worker_count", "2", SCORING_TIMEOUT_MS="1500"
    ).wait_ready()
    deadline = time.monotonic() + 60
    while server.stdout.count("ready for serving traffic") < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    replies = []

    def slow() -> None:
        replies.append(request(server.port, "POST", "/score", JSON_CT, b'"sleep"'))

    threads = [threading.Thread(target=slow) for _ in range(2)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [reply.body for reply in replies] == [
        b'{"message": "Scoring timeout after 1500 ms"}'
    ] * 2
    assert time.monotonic() - started < 2.9  # both ran at once, each stopped after 1.5 s
    assert len(server.worker_pids()) == 2
    assert "Worker Count: 2" in server.stdout


def test_sigterm_stops_server_and_workers(start_server) -> None:
    # infsrv-startup-log.txt: "Handling signal: term" ... "Shutting down: Master", exit 0
    server = start_server("score_misbehaves.py").wait_ready()
    assert server.stop() == 0
    assert "gunicorn.error - Handling signal: term" in server.stderr
    assert "gunicorn.error - Worker exiting (pid:" in server.stderr
    assert "gunicorn.error - Shutting down: Master" in server.stderr


def test_separate_health_port(start_server) -> None:
    # research section 3: SEPERATE_HEALTH_ENDPOINT=true adds a second listener (all routes)
    server = start_server(
        "score_misbehaves.py", "--health_port", "0", SEPERATE_HEALTH_ENDPOINT="true"
    ).wait_ready()
    ports = [int(p) for p in re.findall(r"Listening at: http://127.0.0.1:(\d+)", server.stderr)]
    assert len(ports) == 2
    for port in ports:
        assert json.loads(request(port, "POST", "/score", JSON_CT, b'"ok"').body) == {"ok": True}
