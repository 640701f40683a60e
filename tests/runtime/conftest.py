"""Runtime tests: every test has its own emulator root; images are built in host mode (no
virtualenv, milliseconds); nothing any test started may outlive the test session.

Each runtime test runs with ``AMLEMU_TEST_RUN=<uuid>`` set: every process a container starts
inherits it (the process backend passes host variables through), including
those of the sessions tests start in subprocesses, so a leftover is found however it escaped.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_harness import (
    SCORING,
    TEST_RUN_ENV,
    BuildImage,
    StartContainer,
    assert_no_processes,
)

import emulator
from emulator.images.builders.local import LocalBuilder
from emulator.images.buildlog import BuildLog
from emulator.images.context import ImageRequest, write_context
from emulator.runtime.backends.process import process_environment, processes_with_env
from emulator.runtime.container import Container, ContainerConfig
from emulator.runtime.labels import CONTAINER, env_name, session_id
from emulator.runtime.lifeline import WATCHDOG_ENV
from emulator.store.root import EmulatorRoot

TEST_NODE_ENV = "AMLEMU_TEST_NODE"


@pytest.fixture(scope="session")
def _test_run_id() -> Iterator[str]:
    """One id per test session; fail the session if a process carrying it is left at the end."""
    run_id = uuid.uuid4().hex
    yield run_id
    deadline = time.monotonic() + 10
    while (left := _leftovers(run_id)) and time.monotonic() < deadline:
        time.sleep(0.1)
    owners = {pid: _environ(pid).get(TEST_NODE_ENV, "?") for pid in left}
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes started by the runtime tests outlived them: {owners}"


def _leftovers(run_id: str) -> list[int]:
    """Marked processes, less the replicas of services this process still hosts (a service
    of another test module may restart a replica while a runtime test runs, inheriting the
    mark; it is stopped with its service, not by the runtime tests) and this process's own
    watchdog (it ends right after this process: the lifeline tests check that)."""
    from emulator.services.hosting import HOST

    live = {c.name for d in HOST.deployments() for c in d.containers()}
    left = []
    for pid in processes_with_env(TEST_RUN_ENV, run_id):
        environ = _environ(pid)
        if environ.get(env_name(CONTAINER)) in live or environ.get(WATCHDOG_ENV) == session_id():
            continue
        left.append(pid)
    return left


def _environ(pid: int) -> dict[str, str]:
    return process_environment(pid) or {}


@pytest.fixture(autouse=True)
def _no_orphan_processes(_test_run_id: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """Mark what this runtime test starts (children inherit the variable), and only this
    test's: services other test modules keep until their own teardown are not counted."""
    previous = os.environ.get(TEST_RUN_ENV)
    os.environ[TEST_RUN_ENV] = _test_run_id
    os.environ[TEST_NODE_ENV] = request.node.nodeid
    yield _test_run_id
    os.environ.pop(TEST_NODE_ENV, None)
    if previous is None:
        os.environ.pop(TEST_RUN_ENV, None)
    else:
        os.environ[TEST_RUN_ENV] = previous


@pytest.fixture(autouse=True)
def runtime_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's emulator root (reaper records, logs, images)."""
    root = tmp_path / "root"
    monkeypatch.setenv("AZUREML_EMULATOR_ROOT", str(root))
    monkeypatch.delenv("AZUREML_EMULATOR_RUNTIME", raising=False)
    monkeypatch.delenv("AZUREML_EMULATOR_TIME_SCALE", raising=False)
    return root


@pytest.fixture
def build_image(tmp_path: Path, runtime_root: Path) -> BuildImage:
    """``build_image("runtime/score_cpu.py")`` → the location of a host-mode image of it."""
    root = EmulatorRoot(runtime_root)

    def build(script: str) -> str:
        name = Path(script).stem
        env = emulator.Environment("runtime-test")
        env.python.conda_dependencies = emulator.CondaDependencies.create(
            pip_packages=["azureml-defaults"],
            python_version=f"{sys.version_info[0]}.{sys.version_info[1]}",
        )
        request = ImageRequest(entry_script=SCORING / script, environment=env)
        context = write_context(request, tmp_path / f"context-{name}", root.blobs)
        log = BuildLog(tmp_path / f"build-{name}.log")
        return LocalBuilder(root, mode="host").build(context, log, tmp_path / name, f"{name}:1")

    return build


@pytest.fixture
def start_container(build_image: BuildImage) -> Iterator[StartContainer]:
    """``start_container("server/score_misbehaves.py", memory_gb=...)`` → a started container;
    all are stopped at teardown, and must then have left no process behind."""
    started: list[Container] = []

    def start(script: str, backend: object = None, **settings: object) -> Container:
        settings.setdefault("name", f"c{len(started)}-{Path(script).stem.replace('_', '-')}")
        config = ContainerConfig(image_location=build_image(script), **settings)  # type: ignore[arg-type]
        container = Container(config, backend)  # type: ignore[arg-type]
        started.append(container)
        return container.start()

    yield start
    for container in started:
        container.stop(grace_seconds=2)
    for container in started:
        assert_no_processes(container)
