"""Warm starts (replicas forked from a zygote) keep what a fresh replica has: its own pids,
environment, working directory, memory limit and log, its crash loop, the import side effects
of the user's modules; opting out and every fallback to a cold start are logged.

One host-mode image of fixtures/scoring/warm/ is built for the module; each test starts the
replicas it looks at through the process backend or a supervised Container.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runtime_harness import READY_TIMEOUT, REPO, SCORING, assert_no_processes

import emulator
from emulator.exceptions import InvalidSetting
from emulator.images.builders.local import LocalBuilder, load_local_image
from emulator.images.buildlog import BuildLog
from emulator.images.context import ImageRequest, write_context
from emulator.runtime import zygote
from emulator.runtime.backends.base import LaunchSpec
from emulator.runtime.backends.process import ProcessBackend, ProcessLaunch, process_environment
from emulator.runtime.container import Container, ContainerConfig, ContainerState, RestartPolicy
from emulator.runtime.labels import SESSION, container_labels, env_name, session_id
from emulator.runtime.ports import PortReservation
from emulator.runtime.probes import http_probe
from emulator.settings import WARM_START_ENV
from emulator.store.root import EmulatorRoot

SOURCE = SCORING / "warm"
THREADS_SITE = REPO / "fixtures" / "scoring" / "warm_site" / "site-packages"
COLD = "[emulator] Cold start (no warm interpreter): "


def _build(tmp: Path) -> str:
    """A host-mode image of fixtures/scoring/warm/ (milliseconds: no virtualenv)."""
    env = emulator.Environment("warm-test")
    env.python.conda_dependencies = emulator.CondaDependencies.create(
        pip_packages=["azureml-defaults"],
        python_version=f"{sys.version_info[0]}.{sys.version_info[1]}",
    )
    request = ImageRequest(
        entry_script=SOURCE / "score_warm.py", environment=env, source_directory=SOURCE
    )
    root = EmulatorRoot(tmp / "root")
    context = write_context(request, tmp / "context", root.blobs)
    builder = LocalBuilder(root, mode="host")
    return builder.build(context, BuildLog(tmp / "build.log"), tmp / "image", "warm:1")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The warm-test image, and no zygote left from this module afterwards."""
    yield _build(tmp_path_factory.mktemp("warm-image"))
    zygote.stop_all()


class Replica:
    """One launch of the image, healthy, with the answers of its ``run()``."""

    def __init__(self, launch: ProcessLaunch, port: int, log_path: Path) -> None:
        self.launch = launch
        self.port = port
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return int(self.launch.ident)

    def score(self) -> dict[str, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/score",
            data=b"{}",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return dict(json.loads(json.loads(response.read())))

    def log(self) -> str:
        return self.log_path.read_text()


@pytest.fixture
def launch(image: str, tmp_path: Path) -> Iterator[Any]:
    """``launch(environment=..., backend=...)`` → a healthy :class:`Replica` (stopped after)."""
    started: list[ProcessLaunch] = []

    def start(backend: ProcessBackend | None = None, image: str = image, **extra: Any) -> Replica:
        name = f"warm-{len(started)}"
        port = PortReservation().port
        log_path = tmp_path / f"{name}.log"
        spec = LaunchSpec(name, image, port, log_path, labels=container_labels(name), **extra)
        run = (backend or ProcessBackend()).launch(spec)
        assert isinstance(run, ProcessLaunch)
        started.append(run)
        deadline = time.monotonic() + READY_TIMEOUT
        while not http_probe(port, 2).ok:
            assert run.exit_status() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.02)
        return Replica(run, port, log_path)

    yield start
    for run in started:
        run.stop(grace_seconds=2)


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as handle:
        return int(handle.read().rpartition(b")")[2].split()[1])


def test_replicas_are_distinct_processes_forked_warm_with_their_own_variables_and_cwd(
    launch: Any, image: str
) -> None:
    first = launch(environment={"WARM_TEST_VAR": "first"})
    second = launch(environment={"WARM_TEST_VAR": "second"})
    one, two = first.score(), second.score()
    # Distinct servers and workers, each worker a child of its own server.
    assert len({first.pid, second.pid, one["pid"], two["pid"]}) == 4
    assert (one["ppid"], two["ppid"]) == (first.pid, second.pid)
    # Forked from a zygote that imported the third-party package ahead: warm, not logged cold.
    zygote_pid = _parent(first.pid)
    assert zygote_pid != os.getpid() and _parent(zygote_pid) == os.getpid()
    assert one["preloaded"] and one["yaml"] == {"a": 1}
    assert one["emulator_runtime"] == []  # the host's side never reaches a replica
    assert COLD not in first.log() and COLD not in second.log()
    # ... and the user's own module still ran its import side effect in each worker.
    assert one["helper_pid"] == one["pid"] and two["helper_pid"] == two["pid"]
    assert f"warm_helper: imported in {one['pid']}" in first.log()
    assert f"warm_helper: imported in {two['pid']}" in second.log()
    assert f"warm-test: init done in {two['pid']}" in second.log()
    # The deployment's variables, the replica's port, its working directory: as a fresh one.
    assert one["env"] == {"WARM_TEST_VAR": "first", "OMP_NUM_THREADS": None,
                          "SERVER_PORT": str(first.port)}  # fmt: skip
    assert two["env"]["WARM_TEST_VAR"] == "second"
    assert one["cwd"] == two["cwd"] == str(load_local_image(image).app_root)
    # What /proc shows (amlemu exec, the reaper's labels) is the replica's environment too.
    for pid in (first.pid, one["pid"]):
        shown = process_environment(pid) or {}
        assert shown["WARM_TEST_VAR"] == "first" and shown["SERVER_PORT"] == str(first.port)
        assert zygote.PAD_ENV not in shown


def test_another_image_of_the_environment_shares_the_zygote_with_its_own_python_tree(
    launch: Any, tmp_path: Path
) -> None:
    # Each image has its own copy of the emulator's tree (built back to back: the same files).
    images = [_build(tmp_path / "one"), _build(tmp_path / "two")]
    first, second = launch(image=images[0]), launch(image=images[1])
    assert _parent(second.pid) == _parent(first.pid)
    path = second.score()["path"]
    own, zygotes = (str(load_local_image(i).python_path[0]) for i in (images[1], images[0]))
    assert own in path and zygotes not in path


def test_an_import_relevant_variable_gets_a_zygote_that_imported_under_it(launch: Any) -> None:
    plain = launch()
    single = launch(environment={"OMP_NUM_THREADS": "1"})
    answer = single.score()
    assert answer["env"]["OMP_NUM_THREADS"] == "1" and answer["preloaded"]
    zygote_pid = _parent(single.pid)
    assert zygote_pid != _parent(plain.pid)  # another zygote ...
    started_with = process_environment(zygote_pid) or {}
    assert started_with["OMP_NUM_THREADS"] == "1"  # ... that imported with the variable set
    # It dies with this session: labelled for the lifeline, recorded for the reaper.
    assert started_with[env_name(SESSION)] == session_id()


def test_the_memory_limit_holds_for_a_warm_replica(image: str, tmp_path: Path) -> None:
    config = ContainerConfig(
        image_location=image,
        name="warm-greedy",
        memory_gb=0.1,
        environment={"WARM_TEST_ALLOCATE_MB": "400"},
        restart=RestartPolicy(max_restarts=0),
    )
    container = Container(config, ProcessBackend(limits="rlimit")).start()
    try:
        status = container.wait_until_ready(READY_TIMEOUT)
        assert status.state is ContainerState.FAILED, container.logs()
        assert status.error is not None and status.error["code"] == "OOMKilled"
        assert status.last_exit is not None and status.last_exit.oom_inferred
        assert "MemoryError" in container.logs() and COLD not in container.logs()
    finally:
        container.stop(grace_seconds=2)
    assert_no_processes(container)


def test_a_failing_init_crash_loops_as_a_cold_one(image: str) -> None:
    config = ContainerConfig(
        image_location=image,
        name="warm-broken",
        environment={"WARM_TEST_INIT": "fail"},
        restart=RestartPolicy(max_restarts=1),
    )
    container = Container(config, ProcessBackend()).start()
    try:
        status = container.wait_until_ready(READY_TIMEOUT)
        assert status.state is ContainerState.FAILED, container.logs()
        assert status.restart_count == 1
        assert status.last_exit is not None and status.last_exit.code == 3
        assert status.error is not None and status.error["code"] == "CrashLoopBackOff"
        logs = container.logs()
        assert logs.count("RuntimeError: init failed on purpose (warm test)") == 2
        assert logs.count("Reason: Worker failed to boot.") == 2
        assert COLD not in logs
    finally:
        container.stop(grace_seconds=2)
    assert_no_processes(container)


def test_opting_out_starts_cold_and_says_so(
    launch: Any, monkeypatch: pytest.MonkeyPatch, image: str
) -> None:
    monkeypatch.setenv(WARM_START_ENV, "0")
    cold = launch()
    assert _parent(cold.pid) == os.getpid()
    assert f"{COLD}{WARM_START_ENV}=0" in cold.log()
    assert cold.score()["helper_pid"] == cold.score()["pid"]
    monkeypatch.setenv(WARM_START_ENV, "maybe")
    with pytest.raises(InvalidSetting, match=f"{WARM_START_ENV}='maybe' is not a switch"):
        ProcessBackend().launch(LaunchSpec("bad", image, 1, Path(os.devnull)))


def test_a_package_that_starts_a_thread_on_import_falls_back_to_a_cold_start(
    launch: Any, image: str
) -> None:
    path = os.pathsep.join([*map(str, load_local_image(image).python_path), str(THREADS_SITE)])
    replica = launch(environment={"WARM_TEST_THREADS": "1", "PYTHONPATH": path})
    assert _parent(replica.pid) == os.getpid()
    reason = "importing the script's packages started Python threads (warm-threads-poller)"
    assert f"{COLD}{reason}" in replica.log()
    assert replica.score()["yaml"] == {"a": 1}


def test_an_unexpected_error_in_the_warm_path_starts_cold_and_says_why(
    launch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> zygote.ZygoteLeader:
        raise RuntimeError("zygote bookkeeping bug")

    monkeypatch.setattr(zygote, "start", broken)
    replica = launch()  # served, as a cold start serves it
    assert _parent(replica.pid) == os.getpid()
    reason = "the warm start failed (RuntimeError: zygote bookkeeping bug)"
    assert f"{COLD}{reason}" in replica.log()
    assert replica.score()["helper_pid"] == replica.score()["pid"]
