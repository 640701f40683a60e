"""``amlemu up / status / down / env`` as users run them: separate processes, one root each."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from emulator.daemon.lifecycle import process_gone
from emulator.daemon.trust import certificates

pytestmark = pytest.mark.slow

CREDENTIALS = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZUREML_CURRENT_CLOUD")


def amlemu(
    root: Path, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in CREDENTIALS}
    return subprocess.run(
        [sys.executable, "-m", "emulator", "--root", str(root), *args],
        env={**base, **(env or {})},
        cwd=cwd or root.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    """A fresh root whose daemon, if a test left one, is stopped afterwards."""
    path = tmp_path / "root"
    yield path
    amlemu(path, "down")


@pytest.fixture(scope="module")
def running_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One root with a daemon up for the tests that only ask it for ``amlemu env``'s output
    (each daemon costs a start and a stop of a process that imports the whole server)."""
    path = tmp_path_factory.mktemp("env") / "root"
    started = amlemu(path, "up", "--detach")
    assert started.returncode == 0, started.stderr
    yield path
    amlemu(path, "down")


def daemon_pid(root: Path) -> int:
    return int((root / "daemon" / "daemon.pid").read_text())


def test_up_status_down_leave_no_process_behind(root: Path) -> None:
    up = amlemu(root, "up", "--detach")
    assert up.returncode == 0, up.stderr
    pid = daemon_pid(root)
    status = amlemu(root, "status")
    assert status.returncode == 0
    assert f"pid {pid}" in status.stdout
    port = int((root / "daemon" / "daemon.port").read_text())
    ca = root / "daemon" / "tls" / "ca.pem"
    metadata = requests.get(
        f"https://127.0.0.1:{port}/metadata/endpoints", verify=str(ca), timeout=30
    )
    assert metadata.status_code == 200
    again = amlemu(root, "up", "--detach")
    assert again.returncode == 1
    assert f"already runs for {root}" in again.stderr and f"pid {pid}" in again.stderr
    down = amlemu(root, "down")
    assert down.returncode == 0 and f"pid {pid}" in down.stdout
    assert process_gone(pid)
    assert not (root / "daemon" / "daemon.pid").exists()
    after = amlemu(root, "status")
    assert after.returncode == 3 and "No emulator daemon runs" in after.stdout
    assert amlemu(root, "down").stdout.startswith("No emulator daemon runs")


def test_a_restarted_daemon_keeps_its_port(root: Path) -> None:
    assert amlemu(root, "up", "--detach").returncode == 0
    port = (root / "daemon" / "daemon.port").read_text()
    assert amlemu(root, "down").returncode == 0
    assert amlemu(root, "up", "--detach").returncode == 0
    assert (root / "daemon" / "daemon.port").read_text() == port


def test_a_stale_pid_file_is_detected_and_removed(root: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (root / "daemon").mkdir(mode=0o700, parents=True)  # as amlemu makes it
    (root / "daemon" / "daemon.pid").write_text(f"{gone.pid}\n")
    (root / "daemon" / "daemon.port").write_text("1\n")
    status = amlemu(root, "status")
    assert status.returncode == 3
    assert f"stale pid file: the daemon (pid {gone.pid})" in status.stdout
    assert not (root / "daemon" / "daemon.pid").exists()
    up = amlemu(root, "up", "--detach")
    assert up.returncode == 0, up.stderr


def test_a_pid_file_naming_a_live_unrelated_process_is_stale_too(root: Path) -> None:
    (root / "daemon").mkdir(mode=0o700, parents=True)  # as amlemu makes it
    (root / "daemon" / "daemon.pid").write_text(f"{os.getpid()}\n")  # pid reused by another
    status = amlemu(root, "status")
    assert status.returncode == 3 and "stale pid file" in status.stdout


def test_sigterm_ends_a_foreground_daemon_cleanly(root: Path) -> None:
    daemon = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--root", str(root), "up", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert daemon.stdout is not None
        first = daemon.stdout.readline()
        assert first.startswith("Emulator serving at https://127.0.0.1:"), first
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    assert not (root / "daemon" / "daemon.pid").exists()
    assert "received SIGTERM" in daemon.stdout.read()


def test_a_busy_port_is_refused_with_the_fix(root: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        up = amlemu(root, "up", "--detach", "--port", str(port))
    assert up.returncode == 1
    assert f"Port {port} on 127.0.0.1 is in use" in up.stderr and "--port 0" in up.stderr


def test_env_without_a_daemon_says_how_to_start_one(root: Path) -> None:
    result = amlemu(root, "env")
    assert result.returncode == 1
    assert "amlemu up --detach" in result.stderr and result.stdout == ""


def _exports(text: str) -> dict[str, str]:
    variables = {}
    for line in text.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        variables[name] = shlex.split(value)[0]
    return variables


def test_env_points_the_real_sdk_at_the_daemon(root: Path, tmp_path: Path) -> None:
    assert amlemu(root, "up", "--detach").returncode == 0
    project = tmp_path / "project"
    project.mkdir()
    result = amlemu(
        root,
        "env",
        "--write-config",
        "--subscription-id",
        "sub",
        "--resource-group",
        "rg",
        "-w",
        "from-config",
        cwd=project,
    )
    assert result.returncode == 0, result.stderr
    variables = _exports(result.stdout)
    assert set(variables) == {
        "ARM_CLOUD_METADATA_URL",
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "DOCKER_HOST",  # the daemon's Docker API, for azure-ai-ml's local=True
        "AZUREML_EMULATOR_DOCKER_HOST",  # the engine in force before, for the emulator's builds
    }
    assert variables["DOCKER_HOST"].startswith("unix://")
    # the same trust: a hashed directory for requests, one file for ssl/urllib/uv
    bundle, directory = Path(variables["SSL_CERT_FILE"]), Path(variables["REQUESTS_CA_BUNDLE"])
    assert sorted(certificates([directory])) == sorted(certificates([bundle]))
    script = (
        "from azure.ai.ml import MLClient\n"
        "from azure.identity import DefaultAzureCredential\n"
        "print(MLClient.from_config(DefaultAzureCredential()).workspaces.get().name)\n"
    )
    base = {k: v for k, v in os.environ.items() if k not in CREDENTIALS}
    client = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script],
        env={**base, **variables},
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert client.returncode == 0, client.stderr
    assert client.stdout.strip().splitlines()[-1] == "from-config"


def test_env_warns_when_credentials_would_bypass_the_emulators_identity(
    running_root: Path,
) -> None:
    root = running_root
    secret = {"AZURE_CLIENT_ID": "c", "AZURE_TENANT_ID": "t", "AZURE_CLIENT_SECRET": "s"}
    warned = amlemu(root, "env", env=secret)
    assert warned.returncode == 0
    assert "amlemu: warning: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET" in warned.stderr
    assert "EnvironmentCredential" in warned.stderr
    assert "warning" not in warned.stdout
    quiet = amlemu(root, "env", env={"AZURE_CLIENT_ID": "c"})  # a user-assigned identity
    assert quiet.stderr == ""


@pytest.mark.parametrize(
    ("shell", "line"),
    [
        ("fish", "set -gx IDENTITY_ENDPOINT 'https://127.0.0.1:"),
        ("powershell", "$Env:IDENTITY_ENDPOINT = 'https://127.0.0.1:"),
    ],
)
def test_env_speaks_other_shells(running_root: Path, shell: str, line: str) -> None:
    result = amlemu(running_root, "env", "--shell", shell)
    assert result.returncode == 0
    assert any(out.startswith(line) for out in result.stdout.splitlines()), result.stdout
