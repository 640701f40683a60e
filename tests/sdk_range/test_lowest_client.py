"""The lowest ``azure-ai-ml`` of the supported range (pyproject's pin) runs the online flow.

The rest of the suite runs the newest client (the one ``constraints/test-tools.txt`` locks);
this test installs the lowest release into a virtualenv of its own with uv (from PyPI, which CI
reaches; about 3 s with uv's cache, 12 s without) and runs ``v2_flow.py`` with it, unchanged,
against an emulator served by this process: workspace get, endpoint and deployment create with
uploads, traffic, invoke, get_logs, get_keys, delete.

Why 1.20.0: it is the first release that picks its cloud from ``ARM_CLOUD_METADATA_URL`` alone
(``_get_default_cloud_name``); 1.12 to 1.19 run the same flow only with
``AZUREML_CURRENT_CLOUD=AzureMLEmulator`` added to ``amlemu env``'s variables. Its own packaging
leaves marshmallow unbounded although it imports a name marshmallow 3.24 removed, so the install
names ``marshmallow<3.24`` (what an environment that had 1.20 working holds); every other
package is held to the versions the suite's lock names.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.daemon.client_env import SDK_SET_VARIABLES, client_environment
from emulator.daemon.server import EmulatorServer
from emulator.images.installer import uv_environment
from emulator.settings import BUILDER_ENV, ROOT_ENV
from emulator.store.root import EmulatorRoot

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
LOWEST = "1.20.0"
#: What the lowest release needs beside itself (see the module docstring).
LOWEST_EXTRAS = ("azure-identity", "marshmallow<3.24")
#: Variables that would send DefaultAzureCredential elsewhere, or pick another cloud.
FOREIGN = (
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_FEDERATED_TOKEN_FILE",
    "PYTHONPATH",
    *SDK_SET_VARIABLES,
)


def test_the_pin_names_the_tested_release() -> None:
    """pyproject's lower bound is the release this module installs."""
    pins = re.findall(r'"(azure-ai-ml[^"]*)"', (REPO / "pyproject.toml").read_text())
    assert len(pins) == 1, pins
    low = re.search(r">=\s*([0-9.]+)", pins[0])
    assert low is not None and LOWEST.startswith(low.group(1)), pins[0]
    assert re.search(r"<\s*2\b", pins[0]), f"{pins[0]} must stop before the next major release"


@pytest.mark.slow
def test_the_lowest_supported_client_runs_the_online_flow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uv = shutil.which("uv")
    assert uv is not None, "uv (in the test extra) is needed to build the client's virtualenv"
    uv_env, _ = uv_environment(os.environ)
    venv = tmp_path / "client"
    locked = tmp_path / "constraints.txt"
    locked.write_text(
        "".join(
            line + "\n"
            for line in (REPO / "constraints" / "test-tools.txt").read_text().splitlines()
            if not line.startswith(("azure-ai-ml==", "marshmallow=="))
        )
    )
    environ = {**os.environ, **uv_env, "VIRTUAL_ENV": str(venv)}
    for command in (
        [uv, "venv", "-q", "--python", sys.executable, str(venv)],
        [uv, "pip", "install", "-q", "-c", str(locked), f"azure-ai-ml=={LOWEST}", *LOWEST_EXTRAS],
    ):
        done = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr

    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "root"))
    monkeypatch.setenv(BUILDER_ENV, "host")  # replicas run on this interpreter: no installs
    with EmulatorServer(EmulatorRoot(tmp_path / "root")) as server:
        client_env = {k: v for k, v in os.environ.items() if k not in FOREIGN}
        client_env.update(
            client_environment(server.ca, server.base_url, server.identity_secret, os.environ)
        )
        (tmp_path / "work").mkdir()
        done = subprocess.run(
            [str(venv / "bin" / "python"), "-W", "ignore", str(HERE / "v2_flow.py"), "work"],
            cwd=tmp_path,
            env=client_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((tmp_path / "work" / "result.json").read_text())
    assert result == {
        "azure_ai_ml": LOWEST,
        "workspace": "ws",
        "deployment_state": "Succeeded",
        "traffic": {"blue": 100},
        "answer": {"scaled": [3, 6]},
        "log_has_init": True,
        "has_primary_key": True,
        "endpoints_after_delete": [],
    }
