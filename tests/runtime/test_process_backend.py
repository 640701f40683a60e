"""The process backend and its limits, launched directly (no supervision)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from runtime_harness import BuildImage

from emulator.images.builders.local import load_local_image
from emulator.runtime import limits, reaper
from emulator.runtime.backends.base import ExitStatus, LaunchSpec
from emulator.runtime.backends.process import (
    ProcessBackend,
    container_environment,
    kill_record,
    processes_with_env,
)
from emulator.runtime.labels import CONTAINER, container_labels, env_name
from emulator.runtime.limits import CONFINE_FAILED, GIB, Confinement, allocate, cgroup_bases
from emulator.runtime.ports import PortReservation
from emulator.runtime.probes import http_probe

#: Skipped without a writable cgroup, failed instead under --require-cgroups or CI (conftest).
needs_cgroups = pytest.mark.usefixtures("writable_cgroups")


def _spec(location: str, port: int, log_path: Path, name: str, **extra: object) -> LaunchSpec:
    return LaunchSpec(
        name=name,
        image_location=location,
        port=port,
        log_path=log_path,
        labels=container_labels(name),
        **extra,  # type: ignore[arg-type]
    )


def _wait_healthy(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not http_probe(port, 2).ok:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_the_environment_is_the_images_not_the_hosts(
    build_image: BuildImage, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SCORING_TIMEOUT_MS", "1")
    monkeypatch.setenv("AZUREML_MODEL_DIR", "/host/models")
    monkeypatch.setenv("AMLEMU_LABEL_SESSION", "a parent's")
    monkeypatch.setenv("PYTHONPATH", "/host/src")
    location = build_image("score_echo.py")
    image = load_local_image(location)
    spec = _spec(
        location, 5555, tmp_path / "log", "env-test", environment={"WORKER_COUNT": "2", "X": "y"}
    )
    env = container_environment(image, spec)
    assert "SCORING_TIMEOUT_MS" not in env
    assert env["AZUREML_MODEL_DIR"] == image.env["AZUREML_MODEL_DIR"]
    assert env["AML_APP_ROOT"] == str(image.app_root)
    assert env["PYTHONPATH"] == str(image.python_path[0])
    assert env["WORKER_COUNT"] == "2" and env["X"] == "y" and env["SERVER_PORT"] == "5555"
    assert env["AMLEMU_LABEL_SESSION"] == spec.labels["azureml-emulator.session"]
    assert env["PATH"] == os.environ["PATH"]


def test_a_run_killed_by_a_signal_reads_as_dockers_exit_code(
    build_image: BuildImage, tmp_path: Path
) -> None:
    reservation = PortReservation()
    spec = _spec(build_image("score_echo.py"), reservation.port, tmp_path / "c.log", "sig")
    launch = ProcessBackend().launch(spec)
    try:
        record = next(reaper.sessions_dir().glob(f"*/process-{launch.ident}.json"))
        assert reaper.Record.load(record).labels[CONTAINER] == "sig"
        _wait_healthy(reservation.port)
        assert launch.exit_status() is None
        os.kill(int(launch.ident), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while (status := launch.exit_status()) is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert status == ExitStatus(137, oom_killed=False)
    finally:
        launch.stop()
        launch.stop()
        reservation.release()
    assert not record.exists()
    assert processes_with_env(env_name(CONTAINER), "sig") == []
    assert "Listening at" in spec.log_path.read_text()


def test_kill_record_ends_a_whole_run_from_its_record(
    build_image: BuildImage, tmp_path: Path
) -> None:
    reservation = PortReservation()
    spec = _spec(
        build_image("score_echo.py"),
        reservation.port,
        tmp_path / "c.log",
        "orphaned",
        environment={"WORKER_COUNT": "2"},
        memory_gb=0.5,
    )
    launch = ProcessBackend().launch(spec)
    try:
        _wait_healthy(reservation.port)
        path = next(reaper.sessions_dir().glob(f"*/process-{launch.ident}.json"))
        kill_record(reaper.Record.load(path))  # what a later session does for a dead one
        assert processes_with_env(env_name(CONTAINER), "orphaned") == []
        for group in launch.allocation.cgroups:
            assert not Path(group).exists()
        deadline = time.monotonic() + 10
        while launch.exit_status() is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        launch.stop()
        reservation.release()


def test_rlimit_confinement_applies_to_the_started_command() -> None:
    allocation = allocate("unused", memory_gb=0.5, cpu_cores=1, mode="rlimit")
    assert allocation.mechanism == "rlimit" and allocation.cgroups == ()
    assert allocation.confinement.data_bytes == GIB // 2
    code = (
        "import os, resource\n"
        "print(resource.getrlimit(resource.RLIMIT_DATA)[0], len(os.sched_getaffinity(0)))"
    )
    output = subprocess.run(
        allocation.command([sys.executable, "-c", code], sys.executable),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert output[0] == str(GIB // 2)
    assert output[1] == "1" or len(os.sched_getaffinity(0)) == 1
    assert allocate("x", None, None, mode="rlimit").command(["a", "b"], "py") == ["a", "b"]
    with pytest.raises(ValueError, match="limits mode must be one of auto, cgroup, rlimit"):
        allocate("x", None, None, mode="hard")


def test_a_confinement_that_cannot_be_applied_fails_the_run_visibly(tmp_path: Path) -> None:
    confinement = Confinement(cgroup_procs=(str(tmp_path / "missing" / "cgroup.procs"),))
    command = [sys.executable, "-c", "print('should not run')"]
    result = subprocess.run(
        [sys.executable, "-I", "-S", limits.__file__, confinement.to_json(), "--", *command],
        capture_output=True,
        text=True,
    )
    assert result.returncode == CONFINE_FAILED
    assert "[emulator] cannot apply the container's resource limits" in result.stderr
    assert "should not run" not in result.stdout
    assert Confinement.from_json(confinement.to_json()) == confinement


@needs_cgroups
def test_cgroup_limits_are_written_and_removed() -> None:
    allocation = allocate(f"test-{os.getpid()}-{time.monotonic_ns()}", 0.25, 0.5, mode="cgroup")
    try:
        groups = [Path(group) for group in allocation.cgroups]
        assert all(group.is_dir() for group in groups)
        if allocation.mechanism == "cgroup2":
            assert (groups[0] / "memory.max").read_text().strip() == str(GIB // 4)
            assert (groups[0] / "cpu.max").read_text().split() == ["50000", "100000"]
        else:
            assert (groups[0] / "memory.limit_in_bytes").read_text().strip() == str(GIB // 4)
            assert (groups[1] / "cpu.cfs_quota_us").read_text().strip() == "50000"
        own = subprocess.run(
            allocation.command(["cat", "/proc/self/cgroup"], sys.executable),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert re.search(rf"/azureml-emulator/{re.escape(groups[0].name)}$", own, re.M), own
        assert allocation.oom_kills() == 0
    finally:
        assert allocation.release()
    assert not any(Path(group).exists() for group in allocation.cgroups)


@needs_cgroups
def test_empty_groups_of_dead_sessions_are_swept() -> None:
    _, bases = cgroup_bases()
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    abandoned = bases[0] / f"0123456789ab-{finished.pid}-00000000"
    live = bases[0] / f"0123456789ab-{os.getpid()}-00000000"
    abandoned.mkdir()
    live.mkdir()
    try:
        limits._forget_bases()
        assert cgroup_bases()[1] == bases
        assert not abandoned.exists() and live.is_dir()
    finally:
        for group in (abandoned, live):
            if group.exists():
                group.rmdir()
