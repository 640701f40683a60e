"""Containers on the process backend: healthy start, scoring, logs, crash loop, OOM, liveness."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from runtime_harness import READY_TIMEOUT, StartContainer, assert_no_processes

from emulator.exceptions import InvalidSetting, OperationFailed
from emulator.runtime import reaper
from emulator.runtime.backends.process import ProcessBackend
from emulator.runtime.backends.select import runtime_name, select_backend
from emulator.runtime.container import (
    Container,
    ContainerConfig,
    ContainerState,
    RestartPolicy,
)
from emulator.runtime.probes import ProbeSettings

CRASH_TEXT = (
    "Your container application crashed. This may be caused by errors in your scoring file's "
    "init() function.\n\t1. Please check the logs for your container instance: {name}. From the "
    "AML SDK, you can run print(service.get_logs()) if you have service object to fetch the "
    "logs.\n\t2. You can interactively debug your scoring file locally. Please refer to "
    "https://docs.microsoft.com/azure/machine-learning/how-to-debug-visual-studio-code"
    "#debug-and-troubleshoot-deployments for more information.\n\t3. You can also try to run "
    "image {image} locally. Please refer to https://aka.ms/debugimage#service-launch-fails for "
    "more information."
)
#: Skipped without a writable cgroup, failed instead under --require-cgroups or CI (conftest).
needs_cgroups = pytest.mark.usefixtures("writable_cgroups")


def score(container: Container, body: Any, timeout: float = 30) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{container.port}/score",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_healthy_container_scores_and_logs_prints(start_container: StartContainer) -> None:
    began = time.monotonic()
    container = start_container("server/score_misbehaves.py")
    status = container.wait_until_ready(READY_TIMEOUT)
    assert status.state is ContainerState.HEALTHY, container.logs()
    assert status.ready and status.restart_count == 0 and status.error is None
    assert status.port == container.port > 0
    assert time.monotonic() - began < 10

    assert score(container, "ok") == (200, {"ok": True})
    assert score(container, "print") == (200, {"ok": True})
    logs = container.logs()
    assert "init: ready" in logs  # print() in init()
    assert "run: to stdout 42" in logs and "run: to stderr" in logs  # and in run()
    assert f"Listening at: http://127.0.0.1:{container.port}" in logs
    assert container.logs(num_lines=2).count("\n") == 2


def test_hung_run_times_out_and_the_server_keeps_serving(start_container: StartContainer) -> None:
    container = start_container(
        "server/score_misbehaves.py", environment={"SCORING_TIMEOUT_MS": "500"}
    )
    assert container.wait_until_ready(READY_TIMEOUT).ready, container.logs()
    began = time.monotonic()
    status, body = score(container, "sleep")
    assert (status, json.loads(body)) == (500, {"message": "Scoring timeout after 500 ms"})
    assert time.monotonic() - began < 10
    assert score(container, "ok") == (200, {"ok": True})
    assert container.status.state is ContainerState.HEALTHY
    assert container.status.restart_count == 0


@pytest.mark.slow
def test_init_failure_ends_in_crash_loop_back_off(start_container: StartContainer) -> None:
    began = time.monotonic()
    container = start_container(
        "server/score_init_fails.py", name="broken", image_name="broken-image:1"
    )
    seen = set()
    while (status := container.status).state is not ContainerState.FAILED:
        seen.add((status.state, status.restart_count))
        # Azure takes minutes; the time scale makes seconds. Only a hang guard: how many seconds
        # depends on the machine's load, so the test does not bound it.
        assert time.monotonic() - began < 30, container.logs()
        time.sleep(0.02)
    assert {count for _, count in seen} == {0, 1, 2, 3}
    assert {state for state, _ in seen} == {ContainerState.TRANSITIONING}
    assert container.wait_until_ready(1) == status

    assert status.restart_count == 3
    assert status.last_exit is not None and status.last_exit.code == 3
    assert not status.last_exit.oom_killed
    assert status.error is not None and status.error["code"] == "CrashLoopBackOff"
    message = status.error["message"]
    assert message.startswith(CRASH_TEXT.format(name="broken", image="broken-image:1"))
    assert 'raise RuntimeError("model file missing (simulated)")' in message
    assert "[emulator] Restarted 3 time(s)" in message

    logs = container.logs()
    assert logs.count("RuntimeError: model file missing (simulated)") == 4  # every run's
    assert logs.count("Traceback (most recent call last):") >= 4
    assert "Reason: Worker failed to boot." in logs
    assert logs.count("[emulator] container broken: ") == 4
    assert_no_processes(container, timeout=0)


@pytest.mark.slow
def test_memory_limit_kills_a_greedy_init_with_oom_killed(
    start_container: StartContainer, writable_cgroups: str
) -> None:
    container = start_container(
        "runtime/score_allocates.py", memory_gb=0.1, restart=RestartPolicy(max_restarts=1)
    )
    status = container.wait_until_ready(READY_TIMEOUT)
    assert status.state is ContainerState.FAILED, container.logs()
    assert status.limits == writable_cgroups  # the kernel's limit on the whole replica
    assert status.last_exit is not None and status.last_exit.oom_killed
    assert not status.last_exit.oom_inferred
    assert status.restart_count == 1
    assert status.error is not None and status.error["code"] == "OOMKilled"
    assert "0.1 GB of memory_gb" in status.error["message"]
    assert "CrashLoopBackOff" not in status.error["message"]
    version = writable_cgroups.removeprefix("cgroup")
    enforced = f"[emulator] The memory limit was enforced by cgroup v{version} ("
    assert enforced in status.error["message"]
    assert "OOMKilled: the memory limit was reached" in status.error["message"]
    assert "init: allocating 400 MB" in container.logs()
    assert "init: allocated" not in container.logs()


@pytest.mark.slow
def test_rlimit_fallback_reports_the_memory_error_as_oom(start_container: StartContainer) -> None:
    container = start_container(
        "runtime/score_allocates.py",
        backend=ProcessBackend(limits="rlimit"),
        memory_gb=0.1,
        restart=RestartPolicy(max_restarts=0),
    )
    status = container.wait_until_ready(READY_TIMEOUT)
    assert status.state is ContainerState.FAILED, container.logs()
    assert status.error is not None and status.error["code"] == "OOMKilled"
    assert status.restart_count == 0
    assert "MemoryError" in container.logs()
    # The status says how little the emulator knows: no kernel OOM kill, a logged MemoryError.
    assert status.limits == "rlimit"
    assert status.last_exit is not None and status.last_exit.oom_inferred
    message = status.error["message"]
    assert "the last run ended: OOMKilled: inferred from a MemoryError in the log" in message
    assert message.endswith(
        "[emulator] The memory limit was enforced by rlimit (no writable cgroup: RLIMIT_DATA on "
        "each process, not on the replica as a whole; OOMKilled is inferred from a MemoryError "
        "in the log)."
    )


def test_enough_memory_lets_the_same_init_succeed(start_container: StartContainer) -> None:
    container = start_container(
        "runtime/score_allocates.py", memory_gb=1.0, environment={"ALLOCATE_MB": "200"}
    )
    assert container.wait_until_ready(READY_TIMEOUT).ready, container.logs()
    assert score(container, None) == (200, {"held_mb": 200})


@pytest.mark.slow
@needs_cgroups
def test_cpu_cores_limit_the_cpu_time_a_run_gets(start_container: StartContainer) -> None:
    container = start_container("runtime/score_cpu.py", cpu_cores=0.25)
    assert container.wait_until_ready(READY_TIMEOUT).ready, container.logs()
    status, used = score(container, 1.0)
    assert status == 200, used
    assert used["wall"] >= 1.0
    assert used["cpu"] < 0.5, used  # a quarter of a CPU, with slack for a busy machine


@pytest.mark.slow
def test_a_replica_that_stops_answering_liveness_is_restarted(
    start_container: StartContainer,
) -> None:
    liveness = ProbeSettings(period_seconds=10, timeout_seconds=0.3, failure_threshold=2)
    container = start_container("server/score_misbehaves.py", liveness=liveness)
    status = container.wait_until_ready(READY_TIMEOUT)
    assert status.ready, container.logs()
    port = container.port
    server_pid = int(container._launch.ident)  # type: ignore[union-attr]
    server = reaper.process_start(server_pid)
    os.kill(server_pid, signal.SIGSTOP)  # alive, but answers nothing

    deadline = time.monotonic() + 20
    states = set()
    while container.status.restart_count == 0:
        states.add(container.status.state)
        assert time.monotonic() < deadline, container.logs()
        time.sleep(0.02)
    assert ContainerState.UNHEALTHY in states
    assert container.wait_until_ready(READY_TIMEOUT).ready, container.logs()
    assert container.port == port  # the replica keeps its port
    assert score(container, "ok") == (200, {"ok": True})
    assert "Liveness probe failed 2 times" in container.logs()
    assert reaper.process_start(server_pid) != server  # the stopped server was killed


def test_stop_leaves_no_process_and_is_final(start_container: StartContainer) -> None:
    container = start_container("server/score_misbehaves.py", environment={"WORKER_COUNT": "2"})
    assert container.wait_until_ready(READY_TIMEOUT).ready, container.logs()
    container.stop()
    assert_no_processes(container, timeout=0)
    assert container.status.state is ContainerState.STOPPED
    assert container.wait_until_ready(0).state is ContainerState.STOPPED
    container.stop()  # idempotent


def test_a_missing_image_fails_at_start(tmp_path: Any) -> None:
    container = Container(ContainerConfig("ghost", str(tmp_path / "no-such-image")))
    with pytest.raises(OperationFailed) as failure:
        container.start()
    assert "AZUREML_EMULATOR_RUNTIME=docker" in failure.value.message
    status = container.status
    assert status.state is ContainerState.FAILED
    assert status.error is not None and status.error["code"] == "ContainerStartFailed"


def test_the_runtime_is_chosen_by_argument_or_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert isinstance(select_backend(), ProcessBackend)
    assert isinstance(select_backend("process"), ProcessBackend)
    monkeypatch.setenv("AZUREML_EMULATOR_RUNTIME", "nope")
    with pytest.raises(InvalidSetting, match="AZUREML_EMULATOR_RUNTIME to one of: process"):
        select_backend()
    assert isinstance(select_backend("Process"), ProcessBackend)
    monkeypatch.setenv("AZUREML_EMULATOR_RUNTIME", " Docker ")
    assert runtime_name() == "docker"
    assert runtime_name("process") == "process"
