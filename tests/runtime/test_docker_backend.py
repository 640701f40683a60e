"""DockerBackend against a real engine: serve, logs, init failure, OOM kill, limits, cleanup.

One small image per module (``fixtures/scoring/docker_score_modes.py``; ``DOCKER_SCORE_MODE``
picks how it behaves). Every test uses its own emulator root (reaper records), its own free
loopback port and a unique label, so the module is safe under ``pytest -n auto``.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import emulator
from emulator.exceptions import OperationFailed
from emulator.images.builders.docker import DockerBuilder
from emulator.images.buildlog import BuildLog
from emulator.images.context import ImageRequest, write_context
from emulator.runtime import reaper
from emulator.runtime.backends.base import ExitStatus, LaunchSpec
from emulator.runtime.backends.docker import (
    RUNTIME_LABEL,
    DockerBackend,
    DockerLaunch,
    container_name,
    kill_record,
    remove_containers,
)
from emulator.runtime.labels import SESSION
from emulator.store.root import EmulatorRoot

pytestmark = pytest.mark.docker

SCRIPT = Path(__file__).resolve().parents[2] / "fixtures" / "scoring" / "docker_score_modes.py"
TEST_LABEL = "azureml-emulator.test"
READY_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def image(docker_engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The scoring image, built once per module (per xdist worker) and removed afterwards."""
    tmp = tmp_path_factory.mktemp("docker-backend-image")
    env = emulator.Environment("docker-backend")
    env.python.conda_dependencies = emulator.CondaDependencies.create(
        pip_packages=["azureml-defaults"]
    )
    context = write_context(
        ImageRequest(entry_script=SCRIPT, environment=env),
        tmp / "context",
        EmulatorRoot(tmp / "root").blobs,
    )
    tag = f"amlemu-test-runtime-{uuid.uuid4().hex[:10]}:1"
    try:
        yield DockerBuilder().build(context, BuildLog(tmp / "build.log"), tmp / "image", tag)
    finally:
        with contextlib.suppress(Exception):
            docker_engine.images.remove(tag, force=True)


@pytest.fixture
def run_label(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, docker_engine: Any) -> Iterator[str]:
    """This test's label value; its own emulator root; its containers removed at teardown."""
    monkeypatch.setenv("AZUREML_EMULATOR_ROOT", str(tmp_path / "root"))
    value = uuid.uuid4().hex
    yield value
    with contextlib.suppress(Exception):
        remove_containers({TEST_LABEL: value})


@pytest.fixture
def launches() -> Iterator[list[DockerLaunch]]:
    started: list[DockerLaunch] = []
    yield started
    for launch in started:
        with contextlib.suppress(Exception):
            launch.stop(grace_seconds=1)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_spec(
    tmp_path: Path, image: str, label: str, mode: str = "ok", **overrides: Any
) -> LaunchSpec:
    values: dict[str, Any] = {
        "name": f"test-{mode}",
        "image_location": image,
        "port": free_port(),
        "log_path": tmp_path / "logs" / f"{mode}-{uuid.uuid4().hex[:6]}.log",
        "environment": {"DOCKER_SCORE_MODE": mode},
        "labels": {TEST_LABEL: label, SESSION: f"test-{label}"},
        **overrides,
    }
    return LaunchSpec(**values)


def launch(spec: LaunchSpec, launches: list[DockerLaunch]) -> DockerLaunch:
    started = DockerBackend().launch(spec)
    launches.append(started)
    return started


def wait_healthy(started: DockerLaunch, port: int) -> float:
    """Seconds until ``GET /`` answers 200 ``Healthy``; fails if the run ends first."""
    begin = time.monotonic()
    while time.monotonic() - begin < READY_TIMEOUT:
        status = started.exit_status()
        assert status is None, f"the container ended before it was healthy: {status}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                assert (answer.status, answer.read()) == (200, b"Healthy")
                return time.monotonic() - begin
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    pytest.fail(f"not healthy within {READY_TIMEOUT} s")


def wait_exit(started: DockerLaunch) -> ExitStatus:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        status = started.exit_status()
        if status is not None:
            return status
        time.sleep(0.05)
    pytest.fail(f"the container did not exit within {READY_TIMEOUT} s")


def records(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "root" / "runtime" / "sessions").glob("*/docker-*.json"))


def test_launch_serves_logs_limits_and_stops(
    tmp_path: Path, image: str, run_label: str, launches: list[DockerLaunch], docker_engine: Any
) -> None:
    spec = make_spec(tmp_path, image, run_label, cpu_cores=0.5, memory_gb=0.5)

    started = launch(spec, launches)
    seconds = wait_healthy(started, spec.port)

    assert seconds < READY_TIMEOUT
    request = urllib.request.Request(
        f"http://127.0.0.1:{spec.port}/score",
        data=json.dumps({"data": [1, 2]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
        assert json.loads(answer.read()) == json.dumps({"data": [1, 2]})
    attrs = docker_engine.api.inspect_container(started.ident)
    host = attrs["HostConfig"]
    assert host["NetworkMode"] == "host"
    assert not host.get("PortBindings")
    assert host["NanoCpus"] == 500_000_000
    assert host["Memory"] == host["MemorySwap"] == 512 * 1024 * 1024
    assert host["RestartPolicy"]["Name"] in ("", "no")
    assert host["Init"] is True
    labels = attrs["Config"]["Labels"]
    assert labels[RUNTIME_LABEL] == "docker" and labels[TEST_LABEL] == run_label
    assert attrs["Name"].lstrip("/") == started.name and started.name.startswith("test-ok-")
    assert f"SERVER_PORT={spec.port}" in attrs["Config"]["Env"]
    assert started.exit_status() is None
    [record] = records(tmp_path)
    assert json.loads(record.read_text())["ident"] == started.ident
    log = spec.log_path.read_text()
    assert "docker-score init mode=ok" in log
    assert f"Listening at: http://127.0.0.1:{spec.port}" in log

    started.stop(grace_seconds=5)

    assert "docker-score run" in spec.log_path.read_text()
    assert started.exit_status() == ExitStatus(0, oom_killed=False)
    import docker

    with pytest.raises(docker.errors.NotFound):
        docker_engine.api.inspect_container(started.ident)
    assert records(tmp_path) == []
    started.stop()  # idempotent
    assert started.exit_status() == ExitStatus(0, oom_killed=False)


def test_app_insights_telemetry_reaches_the_host(
    tmp_path: Path, image: str, run_label: str, launches: list[DockerLaunch]
) -> None:
    """The telemetry file's folder is mounted at the same path, so the host reads the items."""
    telemetry = tmp_path / "logs" / "replica.telemetry.jsonl"
    environment = {
        "DOCKER_SCORE_MODE": "ok",
        "AML_APP_INSIGHTS_ENABLED": "true",
        "AML_APP_INSIGHTS_KEY": "11111111-2222-4333-8444-555555555555",
        "AZUREML_EMULATOR_TELEMETRY_FILE": str(telemetry),
    }
    spec = make_spec(tmp_path, image, run_label, environment=environment)
    started = launch(spec, launches)
    wait_healthy(started, spec.port)
    request = urllib.request.Request(
        f"http://127.0.0.1:{spec.port}/score", data=b"{}", headers={"x-request-id": "dock-1"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    started.stop(grace_seconds=5)
    items = [json.loads(line) for line in telemetry.read_text().splitlines()]
    assert [(i["name"], i["Request Id"]) for i in items if i["type"] == "request"] == [
        ("/score", "dock-1")
    ]
    assert "docker-score init mode=ok" in [i.get("message") for i in items]


def test_init_failure_exits_3_with_traceback_in_log(
    tmp_path: Path, image: str, run_label: str, launches: list[DockerLaunch]
) -> None:
    spec = make_spec(tmp_path, image, run_label, mode="init_fails")

    started = launch(spec, launches)
    status = wait_exit(started)

    assert status == ExitStatus(3, oom_killed=False)
    log = spec.log_path.read_text()
    assert "docker-score init mode=init_fails" in log
    assert "Traceback (most recent call last)" in log
    assert "RuntimeError: model file missing (docker test)" in log
    assert "Worker failed to boot" in log
    started.stop()
    assert started.exit_status() == status


def test_memory_limit_oom_kills_and_is_reported(
    tmp_path: Path, image: str, run_label: str, launches: list[DockerLaunch]
) -> None:
    spec = make_spec(
        tmp_path,
        image,
        run_label,
        mode="init_oom",
        memory_gb=0.1,
        environment={"DOCKER_SCORE_MODE": "init_oom", "DOCKER_SCORE_ALLOCATE_MB": "400"},
    )

    started = launch(spec, launches)
    status = wait_exit(started)

    assert status.oom_killed is True
    assert started.limits == "docker" and not status.oom_inferred  # the engine's report
    assert status.code != 0
    assert "was sent SIGKILL" in spec.log_path.read_text()


def test_cpu_cores_beyond_the_engine_are_capped(
    tmp_path: Path, image: str, run_label: str, launches: list[DockerLaunch], docker_engine: Any
) -> None:
    spec = make_spec(tmp_path, image, run_label, cpu_cores=4096)

    started = launch(spec, launches)

    cpus = docker_engine.info()["NCPU"]
    assert docker_engine.api.inspect_container(started.ident)["HostConfig"]["NanoCpus"] == (
        cpus * 1_000_000_000
    )


def test_remove_containers_by_label_and_kill_record(
    tmp_path: Path, image: str, run_label: str, launches: list[DockerLaunch], docker_engine: Any
) -> None:
    doomed = [
        launch(make_spec(tmp_path, image, run_label, labels={TEST_LABEL: run_label}), launches)
        for _ in range(2)
    ]
    other_label = uuid.uuid4().hex
    kept = launch(make_spec(tmp_path, image, run_label, labels={TEST_LABEL: other_label}), launches)
    try:
        assert remove_containers({TEST_LABEL: run_label}) == 2
        assert remove_containers({TEST_LABEL: run_label}) == 0
        alive = docker_engine.api.containers(all=True, filters={"label": f"{TEST_LABEL}"})
        ids = {container["Id"] for container in alive}
        assert kept.ident in ids and not ids & {c.ident for c in doomed}
        for gone in doomed:
            assert wait_exit(gone) is not None
            gone.stop()  # tolerates a container removed behind its back

        [record] = [r for r in map(reaper.Record.load, records(tmp_path)) if r.ident == kept.ident]
        kill_record(record)
        kill_record(record)  # idempotent

        import docker

        with pytest.raises(docker.errors.NotFound):
            docker_engine.api.inspect_container(kept.ident)
    finally:
        remove_containers({TEST_LABEL: other_label})


def test_missing_image_says_how_to_build_it(
    tmp_path: Path, run_label: str, docker_engine: Any
) -> None:
    spec = make_spec(tmp_path, f"amlemu-test-missing-{uuid.uuid4().hex[:8]}:1", run_label)

    with pytest.raises(OperationFailed) as raised:
        DockerBackend().launch(spec)

    assert "is not in the local Docker engine" in raised.value.message
    assert "AZUREML_EMULATOR_BUILDER=docker" in raised.value.message
    assert records(tmp_path) == []


def test_local_image_directory_is_refused(
    tmp_path: Path, run_label: str, docker_engine: Any
) -> None:
    spec = make_spec(tmp_path, str(tmp_path / "images" / "local-image"), run_label)

    with pytest.raises(OperationFailed) as raised:
        DockerBackend().launch(spec)

    assert "AZUREML_EMULATOR_BUILDER=docker" in raised.value.message


def test_unreachable_engine_points_at_setup_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("docker")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    spec = LaunchSpec(name="x", image_location="x:1", port=1, log_path=tmp_path / "x.log")

    with pytest.raises(OperationFailed) as raised:
        DockerBackend(timeout=2).launch(spec)

    assert "Docker engine not reachable" in raised.value.message
    assert "scripts/setup-docker.sh" in raised.value.message
    with pytest.raises(OperationFailed, match=r"setup-docker\.sh"):
        remove_containers({SESSION: "x"}, timeout=2)


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("aciservice", "aciservice-"),
        ("My Service/1:äöü", "My-Service-1-"),
        ("--_", "amlemu-"),
        ("x" * 200, "x" * 54 + "-"),
    ],
)
def test_container_names_are_valid_and_unique(name: str, prefix: str) -> None:
    first, second = container_name(name), container_name(name)

    assert first != second
    assert first.startswith(prefix) and len(first) <= 63
    assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+", first)
