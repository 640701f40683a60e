"""The emulator's Docker API per test (fresh root, private socket) as the only Docker engine the
real ``azure-ai-ml`` and ``docker`` packages can reach: ``DOCKER_HOST`` points at it, ``HOME``
(where the SDK keeps its local endpoints) is the test's own."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from localmode_files import CONDA, SCORE

from emulator.daemon.client_env import SDK_SET_VARIABLES
from emulator.dockerapi import DockerApiServer, private_socket
from emulator.settings import BUILDER_ENV, DOCKER_ENGINE_ENV, ROOT_ENV
from emulator.store.root import EmulatorRoot

with warnings.catch_warnings():  # azure-ai-ml 1.35 warns about marshmallow 4 while importing
    warnings.simplefilter("ignore")
    from azure.ai.ml import MLClient


class NoTokens:
    """A credential that fails the test if used: local mode must make no call to Azure."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise AssertionError(f"local mode asked for a token ({scopes}): it must not call Azure")


@pytest.fixture
def docker_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DockerApiServer]:
    """The emulator's Docker API on a private socket, exported as ``DOCKER_HOST``; replicas run
    on this interpreter (host builder: no installs)."""
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "root"))
    monkeypatch.setenv(BUILDER_ENV, "host")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    # Local mode makes no HTTP call: the client is on Azure's own cloud, whatever another test's
    # client left behind.
    for name in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", DOCKER_ENGINE_ENV, *SDK_SET_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    with DockerApiServer(EmulatorRoot(tmp_path / "root"), private_socket()) as server:
        monkeypatch.setenv("DOCKER_HOST", server.docker_host)
        yield server


@pytest.fixture
def ml_client(docker_api: DockerApiServer) -> MLClient:
    """Any MLClient serves local mode; this one cannot reach Azure (no token, ever)."""
    return MLClient(NoTokens(), "00000000-0000-0000-0000-000000000000", "rg", "ws")


@pytest.fixture
def no_startup_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """azure-ai-ml sleeps 15 s after starting a local container before reading its state, and
    polls its own local operations every 5 s; the emulator's start already returns once the
    scoring server answers (or has exited), so these sleeps only slow the tests down. One test
    keeps them (test_local_flow)."""
    from azure.ai.ml.constants._common import LROConfigurations
    from azure.ai.ml.constants._endpoint import LocalEndpointConstants

    monkeypatch.setattr(LocalEndpointConstants, "DEFAULT_STARTUP_WAIT_TIME_SECONDS", 0)
    monkeypatch.setattr(LROConfigurations, "SLEEP_TIME", 0.1)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A tutorial-shaped project: model/factor.txt, src/score.py, conda.yml, sample.json."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "factor.txt").write_text("3")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(SCORE)
    (tmp_path / "conda.yml").write_text(CONDA)
    (tmp_path / "sample.json").write_text('{"data": [1, 2]}')
    return tmp_path
