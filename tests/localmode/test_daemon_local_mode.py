"""``amlemu up`` serves the Docker API too: ``amlemu env`` exports its ``DOCKER_HOST``, a local
deployment made by one client process answers the next one (the daemon's containers outlive
the deploying script, as Docker's do), and ``amlemu down`` stops it with the daemon."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from localmode_files import CONDA, SCORE

pytestmark = pytest.mark.slow

CLIENT = """
import sys, warnings
warnings.simplefilter("ignore")
from azure.ai.ml import MLClient
from azure.ai.ml.constants._common import LROConfigurations
from azure.ai.ml.constants._endpoint import LocalEndpointConstants
from azure.ai.ml.entities import *

LocalEndpointConstants.DEFAULT_STARTUP_WAIT_TIME_SECONDS = 0  # the test's speed only
LROConfigurations.SLEEP_TIME = 0.1

class NoTokens:
    def get_token(self, *scopes, **kwargs):
        raise AssertionError("local mode must not call Azure")

ml = MLClient(NoTokens(), "00000000-0000-0000-0000-000000000000", "rg", "ws")
project = sys.argv[2]
if sys.argv[1] == "deploy":
    ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="ep"), local=True)
    ml.online_deployments.begin_create_or_update(
        ManagedOnlineDeployment(
            name="blue",
            endpoint_name="ep",
            model=Model(path=f"{project}/model"),
            code_configuration=CodeConfiguration(code=f"{project}/src", scoring_script="score.py"),
            environment=Environment(
                conda_file=f"{project}/conda.yml",
                image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest",
            ),
            instance_type="Standard_DS3_v2",
            instance_count=1,
        ),
        local=True,
    )
print(ml.online_endpoints.invoke("ep", request_file=f"{project}/sample.json", local=True))
print(ml.online_endpoints.get("ep", local=True).scoring_uri)
"""


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A root, the environment its commands run with (host builder, the test's HOME)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "AZUREML_"))}
    env.update({"AZUREML_EMULATOR_BUILDER": "host", "HOME": str(tmp_path / "home")})
    root = tmp_path / "root"
    yield root, env
    _amlemu(root, env, "down")


def _amlemu(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emulator", "--root", str(root), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_daemons_local_deployments_outlive_the_client(
    daemon: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, env = daemon
    project = tmp_path / "project"
    (project / "model").mkdir(parents=True)
    (project / "model" / "factor.txt").write_text("4")
    (project / "src").mkdir()
    (project / "src" / "score.py").write_text(SCORE)
    (project / "conda.yml").write_text(CONDA)
    (project / "sample.json").write_text('{"data": [1, 2]}')

    up = _amlemu(root, env, "up", "--detach")
    assert up.returncode == 0, up.stderr
    printed = _amlemu(root, env, "env")
    assert printed.returncode == 0, printed.stderr
    variables = dict(
        (name, shlex.split(value)[0])
        for name, _, value in (
            line.removeprefix("export ").partition("=") for line in printed.stdout.splitlines()
        )
    )
    assert variables["DOCKER_HOST"].startswith("unix://")
    assert variables["AZUREML_EMULATOR_DOCKER_HOST"] == "unix:///var/run/docker.sock"
    client_env = {**env, **variables}

    def client(*args: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", CLIENT, *args, str(project)],
            env=client_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout.split()

    first = client("deploy")
    assert first[0] == '{"scaled":' and first[1:3] == ["[4,", "8]}"]
    again = client("invoke")  # a new process: the container kept running in the daemon
    assert again == first

    down = _amlemu(root, env, "down")
    assert down.returncode == 0, down.stderr
    assert not Path(variables["DOCKER_HOST"].removeprefix("unix://")).exists()
    with socket.socket() as probe:  # the replica stopped with the daemon
        assert probe.connect_ex(("127.0.0.1", urlparse(first[-1]).port or 0)) != 0
