"""A pytest session ended by its CI runner (SIGTERM, SIGHUP, SIGKILL) leaves nothing behind.

An inner pytest session (its own process session, as a CI runner starts it) deploys a service
with ``aml_deploy`` (``--aml-keep``, so the record outlives the session) and waits; the test
signals it and checks that no process of the session is left, that the endpoint is gone, and
that the record says why the service stopped.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from host_termination import answers, session_leftovers

from emulator import Webservice, Workspace, mock_aml

pytestmark = pytest.mark.slow

QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:xdist")
INNER_TEST = """
import json, os, time
from pathlib import Path
from emulator.runtime.labels import session_id

def test_hosts_a_service(aml_deploy, aml_root):
    service = aml_deploy("score_echo.py")
    info = {"session": session_id(), "root": str(aml_root), "name": service.name,
            "uri": service.scoring_uri}
    Path(os.environ["INFO_FILE"]).write_text(json.dumps(info))
    time.sleep(600)
"""
REASONS: dict[int, str] = {
    signal.SIGTERM: "received SIGTERM",
    signal.SIGHUP: "received SIGHUP",
    signal.SIGKILL: "died without stopping its services",
}
#: pytest's exit code for an interrupted session; SIGKILL cannot be handled.
EXIT_CODES: dict[int, int] = {signal.SIGTERM: 2, signal.SIGHUP: 2, signal.SIGKILL: -signal.SIGKILL}


def _environment(info_file: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYTEST_XDIST_", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST"))
    }
    return {**env, "INFO_FILE": str(info_file), "AZUREML_EMULATOR_BUILDER": "host"}


def _wait_for(info_file: Path, process: subprocess.Popen[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while not info_file.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if not info_file.exists():
        process.kill()
        pytest.fail(f"the inner session did not deploy:\n{process.communicate()[0]}")
    time.sleep(0.1)  # written in one call; let it land
    info: dict[str, Any] = json.loads(info_file.read_text())
    return info


@pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL], ids=["sigterm", "sighup", "sigkill"]
)
def test_a_signalled_pytest_session_leaves_nothing_and_the_record_says_why(
    pytester: pytest.Pytester, signum: int
) -> None:
    pytester.makepyfile(test_hosting=INNER_TEST)
    (pytester.path / "score_echo.py").write_text(
        "def init():\n    pass\n\ndef run(raw):\n    return raw\n"
    )
    info_file = pytester.path / "info.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", *QUIET, "-q", "--aml-keep", "--aml-root=roots"],
        cwd=pytester.path,
        env=_environment(info_file),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    info = _wait_for(info_file, process)
    try:
        port = urlsplit(info["uri"]).port
        assert port is not None and answers(port)
        assert len(session_leftovers(info["session"])) >= 3  # replica, its worker, the watchdog

        process.send_signal(signum)
        output, _ = process.communicate(timeout=60)
        assert process.returncode == EXIT_CODES[signum], output
        if signum != signal.SIGKILL:
            # reported as an interrupted session, naming the signal
            assert f"HostTerminated: {REASONS[signum]}" in output
        deadline = time.monotonic() + 20
        while session_leftovers(info["session"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert session_leftovers(info["session"]) == []
        assert not answers(port)

        with mock_aml(root=Path(info["root"])):
            service = Webservice(Workspace.get("test-workspace"), info["name"])
            assert service.state == "Failed"
            assert service.error is not None
            expected = f"stopped: the host process (pid {process.pid}) {REASONS[signum]}"
            assert service.error["message"].startswith(expected)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        for pid in session_leftovers(info["session"]):
            os.kill(pid, signal.SIGKILL)
