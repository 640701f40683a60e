"""Fixtures of the daemon tests: a fresh root per test, its daemon stopped afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_harness import CLEAN, DaemonRoot


@pytest.fixture
def daemon_root(tmp_path: Path) -> Iterator[DaemonRoot]:
    """A fresh root (replicas run on this interpreter: no installs); its daemon, if the test
    left one, is stopped afterwards."""
    env = {k: v for k, v in os.environ.items() if k not in CLEAN}
    env["AZUREML_EMULATOR_BUILDER"] = "host"
    root = DaemonRoot(tmp_path / "root", env)
    yield root
    root.amlemu("down")
