"""What each replica's processes import, guarded: every module loaded there is held in memory
once per replica (benchmarks/bench_memory.py measures it, issue 18's memory per service).

The HTTP process (``python -m emulator serve``) needs the server and asyncio only; a worker
needs the server's worker side and what the entry script imports. Neither loads amlemu's other
commands, the SDK faces, Werkzeug (a script that uses ``AMLResponse`` or Flask loads it itself),
the email package or ``html.entities``.
"""

from __future__ import annotations

import email.utils
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import werkzeug.http
from conftest import StartServer
from server_harness import request

from emulator.server import command
from emulator.server.headers import http_date
from emulator.server.messages import STATUS_PHRASES, HttpResponse
from emulator.server.serialization import is_response

#: Never in either process of a replica serving a script that imports nothing.
_NEVER = (
    "emulator.cli",
    "emulator.sdk",
    "emulator.services",
    "emulator.runtime",
    "emulator.environments",
    "emulator.activation",
    "werkzeug",
    "packaging",
    "yaml",
    "sqlite3",
)
#: ... nor in the HTTP process (only the error page of a broken request loads ``html``).
_NEVER_IN_HTTP_PROCESS = (
    *_NEVER,
    "email",
    "html",
    "emulator.server.user_script",
    "emulator.server.contrib",
)
#: ... nor in a worker, which runs no event loop.
_NEVER_IN_WORKER = (*_NEVER, "asyncio")

_MODULES_SCRIPT = """
import sys


def init():
    pass


def run(raw_data):
    return sorted(sys.modules)
"""


def _offending(modules: list[str], banned: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m in banned or m.startswith(tuple(b + "." for b in banned)))


def _imported_by(*argv: str) -> list[str]:
    """The modules a Python command imports (``-X importtime``), and its exit status checked."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    return [line.rpartition("|")[2].strip() for line in lines[1:]]


def test_the_http_process_imports_the_server_without_the_cli_sdk_or_werkzeug() -> None:
    # The command every image runs; --help exits after the server's modules are imported.
    modules = _imported_by("-m", "emulator", "serve", "--help")
    assert "emulator.server.main" in modules and "emulator.server.protocol" in modules
    assert _offending(modules, _NEVER_IN_HTTP_PROCESS) == []


def test_python_m_emulator_serve_is_amlemu_serve(capsys: pytest.CaptureFixture[str]) -> None:
    # ``python -m emulator serve ARGS`` runs command.main(ARGS) (the test above runs it).
    from emulator.cli.main import main as amlemu

    answers = []
    for run in (lambda argv: command.main(argv), lambda argv: amlemu(["serve", *argv])):
        for argv in (["--help"], ["--port", "70000"]):
            with pytest.raises(SystemExit) as exit_:
                run(argv)
            answers.append((exit_.value.code, *capsys.readouterr()))
    assert answers[:2] == answers[2:]
    assert answers[0][0] == 0 and answers[0][1].startswith("usage: amlemu serve [-h]")
    assert answers[1][0] == 2 and "amlemu serve: error: argument --port" in answers[1][2]


def test_import_emulator_loads_only_the_version() -> None:
    code = (
        "import json, sys; before = set(sys.modules); import emulator; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert json.loads(done.stdout) == ["emulator", "emulator._version"]


def test_a_worker_serving_a_plain_script_loads_neither_werkzeug_nor_asyncio(
    start_server: StartServer, tmp_path: Path
) -> None:
    script = tmp_path / "modules.py"
    script.write_text(_MODULES_SCRIPT)
    server = start_server(str(script)).wait_ready()
    reply = request(server.port, "POST", "/score", {"Content-Type": "application/json"}, b"{}")
    assert reply.status == 200, reply
    modules = json.loads(reply.body)
    assert "emulator.server.user_script" in modules and "emulator.shim" in modules
    assert _offending(modules, _NEVER_IN_WORKER) == []


def test_the_status_phrases_are_werkzeugs() -> None:
    # Flask answers with Werkzeug's phrases; the copy must not drift from the installed table.
    assert STATUS_PHRASES == werkzeug.http.HTTP_STATUS_CODES
    assert HttpResponse(418).reason_phrase == "I'M A TEAPOT"
    assert HttpResponse(599).reason_phrase == "UNKNOWN"


def test_the_date_header_is_what_email_utils_writes() -> None:
    rng = random.Random(18)
    for timestamp in [0.0, 951782400.0, *(rng.uniform(0, 4e9) for _ in range(2000))]:
        assert http_date(timestamp) == email.utils.formatdate(timestamp, usegmt=True)


def test_werkzeug_responses_are_recognised_once_werkzeug_is_loaded() -> None:
    from werkzeug.wrappers import Response

    assert is_response(Response("x")) and not is_response({"a": 1}) and not is_response(None)
