"""Where ``DOCKER_HOST`` comes from: ``amlemu run`` / ``emulator.activate()`` sessions serve the
Docker API on a private socket and put every variable back; the emulator's own docker builder
and runtime keep using the engine that was in force."""

from __future__ import annotations

import os
from pathlib import Path

import docker
import pytest

from emulator.daemon.session import v2_session
from emulator.dockerapi import client_variables, serving
from emulator.images.builders.docker import _connect
from emulator.settings import DOCKER_ENGINE_ENV, ROOT_ENV
from emulator.store.root import EmulatorRoot


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EmulatorRoot:
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "root"))
    monkeypatch.delenv(DOCKER_ENGINE_ENV, raising=False)
    return EmulatorRoot(tmp_path / "root")


def test_a_session_serves_the_docker_api_and_restores_docker_host(
    root: EmulatorRoot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://build-box:2375")
    with v2_session(root) as variables:
        host = os.environ["DOCKER_HOST"]
        assert variables["DOCKER_HOST"] == host
        assert host.startswith("unix://")
        socket_path = Path(host.removeprefix("unix://"))
        assert serving(socket_path)
        assert oct(socket_path.parent.stat().st_mode & 0o777) == "0o700"
        assert docker.from_env().version()["Platform"]["Name"].startswith("azureml-emulator")
        assert os.environ[DOCKER_ENGINE_ENV] == "tcp://build-box:2375"
    assert os.environ["DOCKER_HOST"] == "tcp://build-box:2375"
    assert DOCKER_ENGINE_ENV not in os.environ
    assert not socket_path.exists()


def test_nested_sessions_keep_the_first_engine(root: EmulatorRoot) -> None:
    outer = client_variables("unix:///a/docker.sock", {"DOCKER_HOST": "unix:///real.sock"})
    assert outer[DOCKER_ENGINE_ENV] == "unix:///real.sock"
    inner = client_variables("unix:///b/docker.sock", {**os.environ, **outer})
    assert inner == {"DOCKER_HOST": "unix:///b/docker.sock", DOCKER_ENGINE_ENV: "unix:///real.sock"}
    fresh = client_variables("unix:///a/docker.sock", {})
    assert fresh[DOCKER_ENGINE_ENV] == "unix:///var/run/docker.sock"  # docker-py's default


def test_the_emulators_docker_builder_uses_the_engine_not_the_emulator(
    root: EmulatorRoot, tmp_path: Path
) -> None:
    engine = tmp_path / "engine.sock"  # nothing listens: the error names where it went
    with v2_session(root):
        os.environ[DOCKER_ENGINE_ENV] = f"unix://{engine}"
        with pytest.raises(docker.errors.DockerException, match="Error while fetching server"):
            _connect(timeout=5)
        os.environ.pop(DOCKER_ENGINE_ENV)
        assert _connect(timeout=5).version()["Platform"]["Name"].startswith("azureml-emulator")
