"""Shared test helpers: loading assets from ``fixtures/`` and per-test working directories."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

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
