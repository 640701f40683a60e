"""Shared test helpers: loading assets from ``fixtures/`` and per-test working directories."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from assets import ASSETS, REPO, load_asset_module  # noqa: F401  (re-exported)

from emulator.daemon.client_env import SDK_SET_VARIABLES


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-docker",
        action="store_true",
        help="fail (instead of skip) Docker tests when no engine answers; the README's test "
        "command sets it after scripts/setup-docker.sh has prepared the engine",
    )
    parser.addoption(
        "--require-browser",
        action="store_true",
        help="fail (instead of skip) browser tests when chromium or playwright is missing; "
        "the README's test command sets it after scripts/setup-browser.sh",
    )
    parser.addoption(
        "--require-cgroups",
        action="store_true",
        help="fail (instead of skip) tests of the kernel-enforced limits when no cgroup is "
        "writable here; CI (the CI variable) implies it, after scripts/setup-cgroups.sh",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Where ``PYTHONDONTWRITEBYTECODE`` is set, compile the repository's packages once first.

    Most tests start Python processes that import the emulator (``amlemu`` commands, daemons,
    replicas, client scripts); with no ``.pyc`` to read, each compiles every module it imports
    from source: about 0.5 CPU-s more per ``amlemu`` command (tests/daemon/test_daemon_cli.py
    took 36 CPU-s instead of 25). The variable only stops the import system from writing; the
    files written here (as Python writes them without it) are read by every process. Done by the
    xdist controller (or the only process) before any worker starts; up-to-date files are kept."""
    if not sys.dont_write_bytecode or hasattr(config, "workerinput"):
        return
    import compileall

    for package in ("emulator", "plugins", "reliability"):
        compileall.compile_dir(REPO / package, quiet=2, workers=1)


def _required(request: pytest.FixtureRequest, option: str) -> bool:
    """Whether a missing capability fails the test: the option, or any run under CI."""
    return bool(request.config.getoption(option) or os.environ.get("CI"))


@pytest.fixture(scope="session")
def docker_engine(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A Docker client; skips without an engine unless ``--require-docker`` (or ``CI``) is set."""
    from emulator.images.builders.docker import docker_available

    if not docker_available():
        message = "no Docker engine answers: run scripts/setup-docker.sh (as root) first"
        if _required(request, "--require-docker"):
            pytest.fail(f"Docker is required but {message}", pytrace=False)
        pytest.skip(message)
    import docker

    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture(scope="session")
def writable_cgroups(request: pytest.FixtureRequest) -> str:
    """The cgroup version the process backend limits runs with (``cgroup1``/``cgroup2``);
    skips without one unless ``--require-cgroups`` (or ``CI``) is set: then the rlimit
    fallback would be tested in place of the kernel's limits, so the run fails instead."""
    from emulator.runtime.limits import cgroup_bases

    version = cgroup_bases()[0]
    if version is None:
        message = (
            "no writable cgroup here (needs root and a writable /sys/fs/cgroup): run "
            "scripts/setup-cgroups.sh (as root) first"
        )
        if _required(request, "--require-cgroups"):
            pytest.fail(f"cgroups are required but {message}", pytrace=False)
        pytest.skip(message)
    return version


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


@pytest.fixture(autouse=True)
def _sdk_set_variables_restored() -> Iterator[None]:
    """azure-ai-ml writes ``AZUREML_CURRENT_CLOUD`` into ``os.environ`` whenever an MLClient is
    built, also from threads a test started and from clients no fixture of ours made; left set,
    it names the emulator's cloud to the next test's client (which then fails with "Unknown
    cloud environment supplied"). Put back as it was before each test."""
    before = {name: os.environ.get(name) for name in SDK_SET_VARIABLES}
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True)
def _invoke_deployment_header_dropped() -> Iterator[None]:
    """azure-ai-ml (1.35) adds ``invoke(deployment_name=...)``'s ``azureml-model-deployment``
    header to a class-level dict, so every later ``invoke`` in the process sends it: one test's
    deployment would route the next test's requests. Dropped after each test (only when the SDK
    was imported: importing it costs seconds)."""
    yield
    endpoint_constants = sys.modules.get("azure.ai.ml.constants._endpoint")
    if endpoint_constants is not None:
        headers = getattr(endpoint_constants.EndpointInvokeFields, "DEFAULT_HEADER", None)
        if isinstance(headers, dict):
            headers.pop("azureml-model-deployment", None)
