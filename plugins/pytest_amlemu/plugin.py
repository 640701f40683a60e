"""Fixtures that give each test its own emulated Azure ML world.

Every fixture keeps its state in the test's own temporary directory, so tests stay independent
under ``pytest -n auto``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import emulator
from emulator import Workspace


def pytest_report_header(config: pytest.Config) -> str:
    return f"azureml-emulator {emulator.__version__}"


@pytest.fixture
def aml_root(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh emulator root for this test (``AZUREML_EMULATOR_ROOT`` points at it)."""
    root = tmp_path_factory.mktemp("amlemu-root")
    monkeypatch.setenv("AZUREML_EMULATOR_ROOT", str(root))
    return root


@pytest.fixture
def aml_workspace(aml_root: Path) -> Iterator[Workspace]:
    """A new emulated workspace with the ``azureml`` import shim active for the test."""
    with emulator.mock_aml():
        yield Workspace.create(
            name="test-workspace",
            subscription_id="00000000-0000-0000-0000-000000000000",
            resource_group="test-rg",
            show_output=False,
        )
