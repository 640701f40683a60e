"""Shared by the tests of what Azure's images bring: azmlinfsrv 1.5.1's transcripts (requests
and answers), scoring servers in images of every builder, and the environments they declare.

A module of its own (not ``conftest``) so test files import it by name, like ``assets``.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.metadata
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from emulator import CondaDependencies, Environment
from emulator.images.builders.local import LocalBuilder, load_local_image
from emulator.images.buildlog import BuildLog
from emulator.images.context import ImageRequest, write_context
from emulator.models.records import ModelRecord
from emulator.models.registry import ModelRegistry
from emulator.runtime.backends.base import Backend, LaunchSpec
from emulator.runtime.backends.process import ProcessBackend, container_environment
from emulator.runtime.ports import HOST, PortReservation
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceStore

REPO = Path(__file__).resolve().parent.parent
SCORING = REPO / "fixtures" / "scoring"
#: Where azmlinfsrv 1.5.1's recorded transcripts are read from: the shared originals next to
#: the checkout, else the repository's byte-identical copies (tests/server/golden_transcripts.py).
GOLDEN_DIRS = (REPO.parent / "shared" / "research" / "golden", REPO / "tests" / "golden")
JSON = {"Content-Type": "application/json"}
READY_TIMEOUT_S = 180


# -- azmlinfsrv 1.5.1's transcripts ------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status line text after the version, headers (lower-cased), body."""

    status: str
    headers: dict[str, str]
    body: bytes


def _transcript(name: str) -> bytes:
    path = next((d / name for d in GOLDEN_DIRS if (d / name).is_file()), None)
    assert path is not None, f"transcript {name} is in none of {[str(d) for d in GOLDEN_DIRS]}"
    return path.read_bytes()


def recorded(name: str) -> Reply:
    """azmlinfsrv's answer in the transcript ``name`` (``curl -i`` output after the command)."""
    data = _transcript(name)
    head, _, body = data[data.index(b"\n\nHTTP/") + 2 :].partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {key.lower(): value for key, value in (line.split(": ", 1) for line in lines)}
    return Reply(status_line.split(" ", 1)[1], headers, body[: int(headers["content-length"])])


def curl(name: str) -> tuple[str, str, bytes | None, dict[str, str]]:
    """The request of transcript ``name`` (``curl -sS -i [-X METHOD] URL [-H ...] [-d ...]``)."""
    text = _transcript(name).decode("latin-1")
    command = text.split("\n$ ", 1)[1].split("\n\nHTTP/", 1)[0]
    args = iter(shlex.split(command)[1:])
    method, target, headers, body = "GET", "/", {}, None
    for arg in args:
        if arg == "-X":
            method = next(args)
        elif arg == "-H":
            key, _, value = next(args).partition(":")
            headers[key] = value.strip()
        elif arg in ("-d", "--data-binary"):
            body = next(args).encode()
        elif arg.startswith("http://"):
            target = "/" + arg.split("/", 3)[3]
    return method, target, body, headers


#: azmlinfsrv 1.5.1's answers to golden-app/score_schema.py (``fixtures/.../score_schema.py``).
SCHEMA_TRANSCRIPTS = (
    "infsrv-schema-good.txt",
    "infsrv-schema-wrong-content-type.txt",
    "infsrv-schema-malformed-json.txt",
    "infsrv-schema-empty-body.txt",
    "infsrv-schema-missing-param.txt",
    "infsrv-schema-bad-shape.txt",
)


# -- a scoring server in an image ----------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """A scoring server on a loopback port; when it runs in a built image, that image's build
    log and location (a local image directory or a Docker tag)."""

    port: int
    build_log: str = ""
    location: str = ""

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            answer = Reply(
                f"{response.status} {response.reason}",
                {key.lower(): value for key, value in response.getheaders()},
                response.read(),
            )
        finally:
            connection.close()
        return answer


def answers_like_azmlinfsrv(transcript: str, reply: Reply) -> None:
    """The reply is the recorded one: status, body and the headers a client reads."""
    expected = recorded(transcript)
    assert (reply.status, reply.body) == (expected.status, expected.body), transcript
    for header in ("content-type", "x-ms-run-function-failed", "x-ms-server-version", "x-extra"):
        assert reply.headers.get(header) == expected.headers.get(header), (transcript, header)


@dataclass(frozen=True)
class Scenario:
    """An environment naming one provided distribution, a script using it, and the check."""

    pip: tuple[str, ...]
    script: Path
    check: Callable[[Server], None]


#: Microsoft's deployment samples' environment (the most common one of all), pinned to the
#: scikit-learn that trained the test model.
SAMPLE_PIP = (
    "inference-schema[numpy-support]",
    "joblib",
    f"scikit-learn=={importlib.metadata.version('scikit-learn')}",
)


def environment(pip: list[str] | tuple[str, ...]) -> Environment:
    """An environment with these pip packages, on this machine's python version."""
    env = Environment("provided")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=list(pip), python_version=f"{sys.version_info[0]}.{sys.version_info[1]}"
    )
    return env


@dataclass(frozen=True)
class World:
    """One emulator root (its venv cache shared by the module) holding the iris model, and
    the Docker images built so far (kept to the end, so later builds reuse their layers)."""

    root: EmulatorRoot
    model: ModelRecord
    docker_tags: list[str]


def make_world(tmp_path_factory: pytest.TempPathFactory, iris_pickle: Path) -> Iterator[World]:
    """A module fixture's body: the world, then the Docker images built in it removed."""
    root = EmulatorRoot(tmp_path_factory.mktemp("provided") / "root")
    workspace, _ = WorkspaceStore(root).create("subscription", "group", "workspace")
    model = ModelRegistry(root, workspace.id).register(iris_pickle, "sklearn-iris")
    built = World(root, model, [])
    yield built
    if built.docker_tags:
        from emulator.runtime.backends.docker import connect

        client = connect(purpose="remove the test images")
        for tag in built.docker_tags:
            with contextlib.suppress(Exception):  # already gone
                client.remove_image(tag, force=True)
        client.close()


def build(
    builder: str, scenario: Scenario, world: World, tmp_path: Path
) -> tuple[str, BuildLog, Backend]:
    """Build the scenario's image with ``builder``; its location, log and the backend to run it."""
    shutil.copy(scenario.script, tmp_path / scenario.script.name)
    request = ImageRequest(
        entry_script=tmp_path / scenario.script.name,
        environment=environment(scenario.pip),
        models=(world.model,),
    )
    context = write_context(request, tmp_path / "context", world.root.blobs)
    log = BuildLog(tmp_path / "build.log")
    if builder == "docker":
        from emulator.images.builders.docker import DockerBuilder
        from emulator.runtime.backends.docker import DockerBackend

        tag = f"amlemu-provided-{uuid.uuid4().hex[:10]}:1"
        world.docker_tags.append(tag)
        return DockerBuilder().build(context, log, tmp_path / "image", tag), log, DockerBackend()
    mode = "venv" if builder == "local" else "host"
    location = LocalBuilder(world.root, mode).build(context, log, tmp_path / "image", "provided:1")
    return location, log, ProcessBackend()


@contextlib.contextmanager
def serving(builder: str, scenario: Scenario, world: World, tmp_path: Path) -> Iterator[Server]:
    """The scenario's image, built and started as a replica; stopped afterwards."""
    location, log, backend = build(builder, scenario, world, tmp_path)
    reservation = PortReservation()
    replica_log = tmp_path / "replica.log"
    try:
        launch = backend.launch(LaunchSpec("provided", location, reservation.port, replica_log))
        try:
            wait_ready(launch, reservation.port, replica_log)
            yield Server(reservation.port, log.path.read_text(), location)
        finally:
            launch.stop()
    finally:
        reservation.release()


def wait_ready(run: Any, port: int, replica_log: Path) -> None:
    """Until ``GET /`` answers 200; fails with the log if ``run`` (a Launch or a Popen) ends."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        ended = run.exit_status() if hasattr(run, "exit_status") else run.poll()
        if ended is not None:
            pytest.fail(f"the server exited: {ended}\n{replica_log.read_text()}")
        with contextlib.suppress(OSError):
            if Server(port).call("GET", "/").status == "200 OK":
                return
        time.sleep(0.2)
    pytest.fail(f"the replica was not ready in {READY_TIMEOUT_S} s\n{replica_log.read_text()}")


def in_image(location: str, code: str) -> str:
    """Run ``code`` with a local image's interpreter and variables, as a replica would."""
    image = load_local_image(location)
    spec = LaunchSpec("probe", location, 0, Path(os.devnull))
    done = subprocess.run(
        [str(image.python), "-c", code],
        env=container_environment(image, spec),
        cwd=image.app_root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()
