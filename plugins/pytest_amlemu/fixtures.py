"""The plugin's fixtures (their names are its public API; documented in ``plugin.py``).

Each test gets its own emulator root and workspace, so tests stay independent under
``pytest -n auto``; only opted-in shared services outlive a test, one set per worker.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import emulator
from emulator import Workspace
from emulator.settings import ROOT_ENV
from pytest_amlemu.deploy_factory import AmlDeploy
from pytest_amlemu.options import OPTIONS_KEY
from pytest_amlemu.reporting import keep, track
from pytest_amlemu.reuse import ReusePool
from pytest_amlemu.roots import ROOTS_KEY, create_workspace
from pytest_amlemu.settings import TestSettings, settings_for

#: The root a reusing ``aml_deploy`` named for its test without creating it (see there).
_RESERVED_ROOT = pytest.StashKey[Path]()


@pytest.fixture
def _aml_settings(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> TestSettings:
    """The test's backend, default target and strictness, applied to the environment."""
    settings = settings_for(request.node, request.config.stash[OPTIONS_KEY])
    for name, value in settings.environment().items():
        monkeypatch.setenv(name, value)
    return settings


@pytest.fixture
def aml_root(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    _aml_settings: TestSettings,
) -> Path:
    """A fresh emulator root for this test (``AZUREML_EMULATOR_ROOT`` points at it)."""
    reserved = request.node.stash.get(_RESERVED_ROOT, None)
    if reserved is not None:  # asked for during a reusing test: the root it already names
        reserved.mkdir(mode=0o700, exist_ok=True)
        return reserved
    roots = request.config.stash[ROOTS_KEY]
    if roots.explicit:
        root = roots.new(request.node.name)
    else:  # beside tmp_path's; mktemp() would list every root made so far to number this one
        base = tmp_path_factory.getbasetemp()
        root = Path(tempfile.mkdtemp(prefix="amlemu-root-", dir=base))
    monkeypatch.setenv(ROOT_ENV, str(root))
    return root


@pytest.fixture
def aml_workspace(aml_root: Path) -> Iterator[Workspace]:
    """A new emulated workspace with the ``azureml`` import shim active for the test."""
    with emulator.mock_aml():
        yield create_workspace(aml_root)


@pytest.fixture(scope="session")
def _aml_shared_services(request: pytest.FixtureRequest) -> Iterator[ReusePool]:
    """This worker's shared services (created on first use, deleted at session end)."""
    config = request.config
    pool = ReusePool(config.stash[ROOTS_KEY])
    yield pool
    if not pool.services:
        return
    if config.stash[OPTIONS_KEY].keep:
        keep(config, pool.services, pool.root)
    else:
        pool.delete_all()


@pytest.fixture
def aml_deploy(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    _aml_settings: TestSettings,
    _aml_shared_services: ReusePool,
) -> Iterator[AmlDeploy]:
    """``aml_deploy(entry_script, models=(), environment=None, target="aci", ...)``: a healthy
    service; every service it made is deleted after the test.

    A reusing test (``aml_reuse``) deploys into the shared workspace, so its own workspace is
    made only when something asks for it (``aml_workspace``, ``aml_deploy.workspace``): a new
    workspace is a new SQLite registry, whose writes cost more than the rest of such a test.
    The ``azureml`` import shim is active for the test either way. Such a test's root is
    only named (``AZUREML_EMULATOR_ROOT``), not made: the emulator makes it when something
    writes there, ``aml_root`` when asked (a directory per test cost 0.1-0.3 ms, disk-bound).
    With ``--aml-root`` every test's root is made, so users find one per test."""

    def workspace() -> Workspace:
        created: Workspace = request.getfixturevalue("aml_workspace")
        return created

    node = request.node
    reuse = _aml_settings.reuse
    if reuse and "aml_root" not in request.fixturenames and not _explicit_roots(request):
        root = tmp_path_factory.getbasetemp() / f"amlemu-root-{secrets.token_hex(8)}"
        node.stash[_RESERVED_ROOT] = root
        monkeypatch.setenv(ROOT_ENV, str(root))
    else:
        root = request.getfixturevalue("aml_root")
    if not reuse:
        workspace()  # set up before the test (and torn down after this fixture)
    factory = AmlDeploy(
        workspace,
        _aml_settings,
        request.path.parent,
        lambda service: track(node, service),
        (lambda: _aml_shared_services) if reuse else None,
    )
    with emulator.mock_aml() if reuse else contextlib.nullcontext():
        yield factory
    if request.config.stash[OPTIONS_KEY].keep:
        keep(request.config, factory.services, root)
    else:
        factory.delete_all()


def _explicit_roots(request: pytest.FixtureRequest) -> bool:
    """Whether roots go under the user's ``--aml-root`` (one made per test, to be found)."""
    return request.config.stash[ROOTS_KEY].explicit


@pytest.fixture
def aml_mock() -> Iterator[Any]:
    """The in-process mock (``emulator.mock.AzureMock``), active for the test."""
    from emulator.mock import AzureMock

    with AzureMock() as mock:
        yield mock
