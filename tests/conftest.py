"""Shared test helpers: loading assets from ``fixtures/`` and per-test working directories."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
ASSETS = REPO / "fixtures"


def load_asset_module(relative: str) -> ModuleType:
    """Import a helper script from ``fixtures/`` by path (it is not an installed package)."""
    path = ASSETS / relative
    spec = importlib.util.spec_from_file_location(f"amlemu_asset_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-docker",
        action="store_true",
        help="fail (instead of skip) Docker tests when no engine answers; the README's test "
        "command sets it after scripts/setup-docker.sh has prepared the engine",
    )


@pytest.fixture(scope="session")
def docker_engine(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A Docker client; skips without an engine unless ``--require-docker`` (or ``CI``) is set."""
    from emulator.images.builders.docker import docker_available

    if not docker_available():
        message = "no Docker engine answers: run scripts/setup-docker.sh (as root) first"
        if request.config.getoption("--require-docker") or os.environ.get("CI"):
            pytest.fail(f"Docker is required but {message}", pytrace=False)
        pytest.skip(message)
    import docker

    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's working directory (``Model.register`` only accepts paths below it)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def iris_pickle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real joblib-pickled scikit-learn model, trained once per session (per xdist worker)."""
    builder = load_asset_module("models/build_iris.py")
    return builder.build(tmp_path_factory.mktemp("iris") / "model.pkl")
