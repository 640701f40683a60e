"""``amlemu run`` gives SDK v2 scripts the emulator too: the root's daemon when one runs, else a
server of its own for the script's lifetime; variables are restored afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.daemon.session import v2_session
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceStore

SCRIPT = """\
import os, sys, warnings
warnings.simplefilter("ignore")
from azure.ai.ml import MLClient
from azure.identity import DefaultAzureCredential

client = MLClient(DefaultAzureCredential(), "sub", "rg", sys.argv[1])
print(client.workspaces.get(sys.argv[1]).name)
print(os.environ["ARM_CLOUD_METADATA_URL"])
"""
CLEAN = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZUREML_CURRENT_CLOUD")


def amlemu(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN}
    return subprocess.run(
        [sys.executable, "-m", "emulator", "--root", str(root), *args],
        env=env,
        cwd=root.parent,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "root"
    yield path
    amlemu(path, "down")


@pytest.mark.slow
def test_run_serves_an_sdk_v2_script_without_a_daemon(root: Path, tmp_path: Path) -> None:
    script = tmp_path / "v2.py"
    script.write_text(SCRIPT)
    result = amlemu(root, "run", str(script), "ws-run")
    assert result.returncode == 0, result.stderr
    name, url = result.stdout.split()
    assert name == "ws-run"
    assert url.startswith("https://127.0.0.1:")
    assert "Workspace 'ws-run' did not exist" in result.stderr
    assert [r.name for r in WorkspaceStore(EmulatorRoot(root)).all()] == ["ws-run"]
    assert amlemu(root, "status").returncode == 3  # the script's server was its own


@pytest.mark.slow
def test_run_uses_the_roots_daemon_when_one_runs(root: Path, tmp_path: Path) -> None:
    assert amlemu(root, "up", "--detach").returncode == 0
    port = (root / "daemon" / "daemon.port").read_text().strip()
    script = tmp_path / "v2.py"
    script.write_text(SCRIPT)
    result = amlemu(root, "run", str(script), "ws-daemon")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1].startswith(f"https://127.0.0.1:{port}/")
    assert "did not exist" not in result.stderr  # logged by the daemon, in its log
    assert "Workspace 'ws-daemon' did not exist" in (root / "daemon" / "daemon.log").read_text()


def test_the_session_restores_every_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", "/etc/previous.pem")
    monkeypatch.delenv("IDENTITY_ENDPOINT", raising=False)
    monkeypatch.setenv("AZUREML_CURRENT_CLOUD", "AzureCloud")
    with v2_session(EmulatorRoot(tmp_path / "root")) as variables:
        assert os.environ["SSL_CERT_FILE"] == variables["SSL_CERT_FILE"] != "/etc/previous.pem"
        assert "AZUREML_CURRENT_CLOUD" not in os.environ  # else the SDK would skip the metadata
        os.environ["AZUREML_CURRENT_CLOUD"] = "AzureMLEmulator"  # as the SDK sets it
    assert os.environ["SSL_CERT_FILE"] == "/etc/previous.pem"
    assert "IDENTITY_ENDPOINT" not in os.environ
    assert os.environ["AZUREML_CURRENT_CLOUD"] == "AzureCloud"
