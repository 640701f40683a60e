"""Fixtures for the scoring-server tests: an app root with the iris model, servers on port 0."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from server_harness import ServerProcess

StartServer = Callable[..., ServerProcess]


@pytest.fixture(scope="session")
def model_dir(iris_pickle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<app>/azureml-models/sklearn-iris/1/model.pkl``, the layout the golden runs used."""
    version_dir = tmp_path_factory.mktemp("app") / "azureml-models" / "sklearn-iris" / "1"
    version_dir.mkdir(parents=True)
    shutil.copy(iris_pickle, version_dir / "model.pkl")
    return version_dir


def _starter(root: Path) -> tuple[StartServer, list[ServerProcess]]:
    started: list[ServerProcess] = []

    def start(script: str, *flags: str, **env: str) -> ServerProcess:
        workdir = root / f"server{len(started)}"
        workdir.mkdir()
        server = ServerProcess(workdir, script, *flags, **env)
        started.append(server)
        return server

    return start, started


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Start servers for one test; every one is stopped (workers included) afterwards."""
    start, started = _starter(tmp_path)
    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def start_module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartServer]:
    """Like ``start_server``, for servers shared by the tests of one module."""
    start, started = _starter(tmp_path_factory.mktemp("servers"))
    yield start
    for server in started:
        server.stop()
