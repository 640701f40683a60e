"""``amlemu run deploy.py`` ended by SIGTERM, SIGHUP or SIGKILL takes its services down with it.

Each test runs a real ``amlemu run`` (its own process session, as under a CI runner) that
deploys a Local or ACI service and waits; the test signals it, then checks that no process of
its session is left (replica, workers, the watchdog) and, for Docker replicas, no container
labelled with the session, that neither the gateway nor the replica answers any more, and that
the service's record says why it stopped.
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
from cli_harness import HERE
from host_termination import answers, session_leftovers

from emulator import Webservice, Workspace
from emulator.runtime.backends.docker import RUNTIME_LABEL
from emulator.runtime.labels import SESSION

pytestmark = pytest.mark.slow

DEPLOY_SCRIPT = HERE / "deploy_and_wait.py"
#: What the record's message says, per signal (SIGKILL: nobody could say more than this).
REASONS: dict[int, str] = {
    signal.SIGTERM: "received SIGTERM",
    signal.SIGHUP: "received SIGHUP",
    signal.SIGKILL: "died without stopping its services",
}


class Host:
    """``amlemu run deploy_and_wait.py <target>`` in ``workdir``, up to its service's info."""

    def __init__(self, root: Path, workdir: Path, target: str, builder: str = "host") -> None:
        env = {
            **os.environ,
            "AZUREML_EMULATOR_ROOT": str(root),
            "AZUREML_EMULATOR_BUILDER": builder,
        }
        env.pop("AZUREML_EMULATOR_RUNTIME", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "emulator", "run", str(DEPLOY_SCRIPT), target],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        line = ""
        for line in self.process.stdout:  # the SDK's own output first, then the JSON line
            if line.startswith("{"):
                break
        if not line.startswith("{"):
            self.process.kill()
            pytest.fail(f"amlemu run did not deploy: {self.process.communicate()[1]}")
        self.info: dict[str, Any] = json.loads(line)

    def leftovers(self) -> list[int]:
        """Processes of the session: replicas and their workers, and its watchdog."""
        return session_leftovers(self.info["session"])

    def end(self, signum: int) -> tuple[int, str]:
        self.process.send_signal(signum)
        _, err = self.process.communicate(timeout=60)
        return self.process.returncode, err

    def wait_for_no_leftovers(self, timeout: float = 20.0) -> list[int]:
        deadline = time.monotonic() + timeout
        while (left := self.leftovers()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return left

    def kill(self) -> None:
        """Teardown: whatever the test left (a failing test) goes."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()
        for pid in self.leftovers():
            os.kill(pid, signal.SIGKILL)


def expected_code(signum: int) -> int:
    """Handled signals end ``amlemu`` with the shell's 128 + N; SIGKILL cannot be handled."""
    return -signal.SIGKILL if signum == signal.SIGKILL else 128 + signum


SIGNALS = pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL], ids=["sigterm", "sighup", "sigkill"]
)


@pytest.mark.parametrize("target", ["local", "aci"])
@SIGNALS
def test_a_signal_to_amlemu_run_leaves_nothing_and_the_record_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, signum: int
) -> None:
    host = Host(tmp_path / "root", _workdir(tmp_path), target)
    _check_signal_ends_everything(host, tmp_path / "root", monkeypatch, signum)


@pytest.mark.docker
@SIGNALS
def test_a_signal_to_amlemu_run_removes_its_docker_replicas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int, docker_engine: Any
) -> None:
    host = Host(tmp_path / "root", _workdir(tmp_path), "aci", builder="docker")
    session_filter = {"label": [f"{RUNTIME_LABEL}=docker", f"{SESSION}={host.info['session']}"]}
    try:
        assert len(docker_engine.api.containers(all=True, filters=session_filter)) == 1
    except BaseException:
        host.kill()
        raise
    _check_signal_ends_everything(host, tmp_path / "root", monkeypatch, signum)
    assert docker_engine.api.containers(all=True, filters=session_filter) == []


def _workdir(tmp_path: Path) -> Path:
    workdir = tmp_path / "work"
    workdir.mkdir()
    return workdir


def _check_signal_ends_everything(
    host: Host, root: Path, monkeypatch: pytest.MonkeyPatch, signum: int
) -> None:
    try:
        gateway = urlsplit(host.info["uri"]).port
        assert gateway is not None
        ports = [gateway, *host.info["replica_ports"]]
        assert len(ports) == 2 and all(answers(port) for port in ports)
        assert host.leftovers()  # the watchdog; process replicas and their workers too

        code, err = host.end(signum)
        assert code == expected_code(signum), err
        if signum != signal.SIGKILL:
            assert f"stopped: {REASONS[signum]}; its services were stopped" in err
        assert host.wait_for_no_leftovers() == []
        assert not any(answers(port) for port in ports)

        monkeypatch.setenv("AZUREML_EMULATOR_ROOT", str(root))
        ws = Workspace.get("ws", subscription_id="sub", resource_group="rg")
        service = Webservice(ws, host.info["name"])
        assert service.state.lower() == "failed"
        assert service.error is not None
        message = service.error["message"]
        pid = host.process.pid
        assert message.startswith(f"stopped: the host process (pid {pid}) {REASONS[signum]}")
    finally:
        host.kill()
