"""What Azure's inference images bring (``emulator/environments/provided.py``), inside images.

Each provided distribution has a scenario: an environment naming it as users write it (pins
included), a scoring script importing what the distribution offers in Azure, and requests whose
answers the real azmlinfsrv 1.5.1 recorded (``tests/golden``) or that the distribution documents.
Every scenario runs in an image of each builder: ``local`` (a virtualenv holding only what the
environment and the emulator install), ``host`` and ``docker``.
"""

from __future__ import annotations

import ast
import contextlib
import http.client
import importlib.metadata
import json
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

from emulator import CondaDependencies, Environment, Model, Workspace, mock_aml
from emulator._version import SDK_VERSION
from emulator.environments.provided import PROVIDED_BY_EMULATOR
from emulator.environments.requirements import resolve_requirements
from emulator.images.builders.local import LocalBuilder, load_local_image
from emulator.images.buildlog import BuildFailed, BuildLog
from emulator.images.context import ImageRequest, check_requirements, write_context
from emulator.models.records import ModelRecord
from emulator.models.registry import ModelRegistry
from emulator.runtime.backends.base import Backend, LaunchSpec
from emulator.runtime.backends.process import ProcessBackend, container_environment
from emulator.runtime.ports import HOST, PortReservation
from emulator.sdk.compute import AksCompute, ComputeTarget
from emulator.sdk.inference_config import InferenceConfig
from emulator.sdk.webservice import AciWebservice, AksWebservice, LocalWebservice
from emulator.server.version import INFSRV_VERSION
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceStore

REPO = Path(__file__).resolve().parent.parent
SCORING = REPO / "fixtures" / "scoring"
#: Where azmlinfsrv 1.5.1's recorded transcripts are: the repository's copies, else the shared
#: originals next to the checkout.
GOLDEN_DIRS = (REPO / "tests" / "golden", REPO.parent / "shared" / "research" / "golden")
JSON = {"Content-Type": "application/json"}
_READY_TIMEOUT_S = 180


# -- recorded answers --------------------------------------------------------------------


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


# -- scenarios: one per provided distribution --------------------------------------------


@dataclass(frozen=True)
class Server:
    """A scoring server running in an image, and its image's build log."""

    port: int
    build_log: str
    location: str

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


def _answers_like_azmlinfsrv(server: Server, transcript: str, reply: Reply) -> None:
    expected = recorded(transcript)
    assert (reply.status, reply.body) == (expected.status, expected.body), transcript
    for header in ("content-type", "x-ms-run-function-failed", "x-ms-server-version", "x-extra"):
        assert reply.headers.get(header) == expected.headers.get(header), (transcript, header)


def _inference_schema(server: Server) -> None:
    for transcript in ("infsrv-swagger-schema.txt", *SCHEMA_TRANSCRIPTS):
        _answers_like_azmlinfsrv(server, transcript, server.call(*curl(transcript)))
    assert "inference-schema[numpy-support]: installed from PyPI" in server.build_log


def _defaults_answers(server: Server) -> None:
    """``score_defaults.py``'s swagger (from its decorators) and its answer."""
    swagger = json.loads(server.call("GET", "/swagger.json").body)
    service_input = swagger["definitions"]["ServiceInput"]
    assert service_input["example"] == {"data": [[5.1, 3.5, 1.4, 0.2]]}
    assert service_input["properties"]["data"]["type"] == "array"
    reply = server.call("POST", "/score", b'{"data": [[1, 2, 3, 4], [5, 6, 7, 8]]}', JSON)
    assert (reply.status, json.loads(reply.body)) == ("200 OK", {"rows": 2, "model": "model.pkl"})


def _defaults(server: Server) -> None:
    _defaults_answers(server)
    assert (
        f"azureml-defaults==1.38.0: provided by the emulator, behaves as {SDK_VERSION} "
        f"(azureml-inference-server-http {INFSRV_VERSION}, azureml-core {SDK_VERSION}); "
        "the pin ==1.38.0 is recorded, not installed" in server.build_log
    )


def _raw_http(distribution: str) -> Callable[[Server], None]:
    def check(server: Server) -> None:
        transcript = "infsrv-rawhttp-post.txt"
        _answers_like_azmlinfsrv(server, transcript, server.call(*curl(transcript)))
        assert f"{distribution}: provided by the emulator, behaves as" in server.build_log

    return check


def _model_path(distribution: str) -> Callable[[Server], None]:
    def check(server: Server) -> None:
        answer = json.loads(server.call("POST", "/score", b'{"model": "sklearn-iris"}', JSON).body)
        assert answer["path"].endswith("azureml-models/sklearn-iris/1/model.pkl")
        assert answer["is_file"] is True and answer["version"] == SDK_VERSION
        assert f"{distribution}: provided by the emulator, behaves as" in server.build_log

    return check


@dataclass(frozen=True)
class Scenario:
    """An environment naming one provided distribution, a script using it, and the check."""

    pip: tuple[str, ...]
    script: Path
    check: Callable[[Server], None]


def _sklearn_version() -> str:
    return importlib.metadata.version("scikit-learn")


SCENARIOS: dict[str, Scenario] = {
    # Microsoft's deployment samples: the most common environment of all.
    "inference-schema": Scenario(
        ("inference-schema[numpy-support]", "joblib", f"scikit-learn=={_sklearn_version()}"),
        SCORING / "server" / "score_schema.py",
        _inference_schema,
    ),
    "azureml-defaults": Scenario(
        ("azureml-defaults==1.38.0",), SCORING / "provided" / "score_defaults.py", _defaults
    ),
    "azureml-inference-server-http": Scenario(
        ("azureml-inference-server-http==1.4.1",),
        SCORING / "provided" / "score_infsrv_raw.py",
        _raw_http("azureml-inference-server-http==1.4.1"),
    ),
    "azureml-contrib-services": Scenario(
        ("azureml-contrib-services",),
        SCORING / "server" / "score_raw.py",
        _raw_http("azureml-contrib-services"),
    ),
    "azureml-core": Scenario(
        ("azureml-core",),
        SCORING / "provided" / "score_model_path.py",
        _model_path(f"azureml-core~={SDK_VERSION}"),
    ),
    "azureml-sdk": Scenario(
        ("azureml-sdk[automl]",),
        SCORING / "provided" / "score_model_path.py",
        _model_path(f"azureml-sdk[automl]~={SDK_VERSION}"),
    ),
}


def _imported_modules(script: Path) -> set[str]:
    """Every module a script imports, with the packages above each (``a.b.c`` → a, a.b, a.b.c)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            names.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return names


def test_every_provided_distribution_has_a_scenario_that_imports_what_it_offers() -> None:
    assert set(SCENARIOS) == set(PROVIDED_BY_EMULATOR)
    for name, scenario in SCENARIOS.items():
        missing = set(PROVIDED_BY_EMULATOR[name].modules) - _imported_modules(scenario.script)
        assert not missing, f"{scenario.script.name} does not use {name}'s {sorted(missing)}"


# -- requirements and the build log --------------------------------------------------------


def _environment(pip: list[str] | tuple[str, ...]) -> Environment:
    env = Environment("provided")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=list(pip), python_version=f"{sys.version_info[0]}.{sys.version_info[1]}"
    )
    return env


def _written_context(tmp_path: Path, pip: list[str]) -> Any:
    script = tmp_path / "score.py"
    tmp_path.mkdir(parents=True, exist_ok=True)
    script.write_text("def init():\n    pass\n\n\ndef run(data):\n    return data\n")
    request = ImageRequest(entry_script=script, environment=_environment(pip))
    return write_context(request, tmp_path / "context", EmulatorRoot(tmp_path / "root").blobs)


def test_inference_schema_is_installed_as_written_and_azure_only_packages_are_provided() -> None:
    resolved = resolve_requirements(
        _environment(["inference-schema[numpy-support]", "azureml-defaults==1.38.0", "joblib"])
    )
    assert resolved.pip == ["inference-schema[numpy-support]", "joblib"]
    assert resolved.provided_by_emulator == ["azureml-defaults==1.38.0"]
    assert resolved.unavailable == []


def test_pins_of_provided_packages_are_recorded_in_the_build_log(tmp_path: Path) -> None:
    pins = ["azureml-inference-server-http==1.4.1", "azureml-defaults==1.38.0"]
    context = _written_context(tmp_path, [*pins, "inference-schema==1.7.2"])
    log = BuildLog(tmp_path / "build.log")
    check_requirements(context, log)
    text = log.path.read_text()
    assert (
        "azureml-inference-server-http==1.4.1: provided by the emulator, behaves as 1.5.1; "
        "the pin ==1.4.1 is recorded, not installed" in text
    )
    assert (
        "azureml-defaults==1.38.0: provided by the emulator, behaves as 1.61.0 "
        "(azureml-inference-server-http 1.5.1, azureml-core 1.61.0); the pin ==1.38.0 is "
        "recorded, not installed" in text
    )
    assert "inference-schema==1.7.2: installed as pinned (==1.7.2), the real package" in text


def test_a_users_pin_of_inference_schema_replaces_the_emulators_requirement(
    tmp_path: Path,
) -> None:
    def installs(pip: list[str], name: str) -> tuple[str, str]:
        context = _written_context(tmp_path / name, pip)
        return context.requirements_file.read_text(), context.runtime_requirements_file.read_text()

    user, emulator_own = installs(["azureml-defaults"], "defaults")
    assert user == "" and "inference-schema~=1.8.0\n" in emulator_own
    user, emulator_own = installs(["inference-schema[pandas-support]"], "extras")
    assert user == "inference-schema[pandas-support]\n"
    assert "inference-schema~=1.8.0\n" in emulator_own
    user, emulator_own = installs(["inference-schema[numpy-support]==1.7.2"], "pinned")
    assert user == "inference-schema[numpy-support]==1.7.2\n"
    assert "inference-schema" not in emulator_own and "werkzeug" in emulator_own


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("azureml-accel-models", "the emulator offers azureml.accel on the machine that deploys"),
        ("azureml-model-management-sdk==1.0.1b6", "Machine Learning Server's operationalization"),
        ("azureml-train-automl-runtime", "exists only inside Azure ML and is not emulated"),
    ],
)
def test_azure_packages_images_do_not_carry_are_refused_with_the_reason(
    tmp_path: Path, line: str, reason: str
) -> None:
    context = _written_context(tmp_path, [line])
    with pytest.raises(BuildFailed) as failure:
        check_requirements(context, BuildLog(tmp_path / "build.log"))
    assert f"- {line}" in failure.value.message and reason in failure.value.message


def test_the_inference_servers_import_paths_resolve_to_the_emulator_under_the_shim() -> None:
    with mock_aml():
        from azureml.contrib.services import rawhttp
        from azureml_inference_server_http.api.aml_request import AMLRequest
        from azureml_inference_server_http.api.aml_request import rawhttp as server_rawhttp
        from azureml_inference_server_http.api.aml_response import AMLResponse

        from emulator.server.contrib.aml_request import AMLRequest as EmulatorRequest
        from emulator.server.contrib.aml_response import AMLResponse as EmulatorResponse

        assert rawhttp is server_rawhttp
        assert (AMLRequest, AMLResponse) == (EmulatorRequest, EmulatorResponse)
        with pytest.raises(ModuleNotFoundError, match="does not emulate it"):
            import azureml_inference_server_http.server  # noqa: F401
    assert not [name for name in sys.modules if name.startswith("azureml_inference_server_http")]


# -- inside images of every builder ------------------------------------------------------


@dataclass(frozen=True)
class World:
    """One emulator root (its venv cache shared by the module) holding the iris model, and
    the Docker images built so far (kept to the end, so later builds reuse their layers)."""

    root: EmulatorRoot
    model: ModelRecord
    docker_tags: list[str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, iris_pickle: Path) -> Iterator[World]:
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


def _build(
    builder: str, scenario: Scenario, world: World, tmp_path: Path
) -> tuple[str, BuildLog, Backend]:
    """Build the scenario's image with ``builder``; its location, log and the backend to run it."""
    shutil.copy(scenario.script, tmp_path / scenario.script.name)
    request = ImageRequest(
        entry_script=tmp_path / scenario.script.name,
        environment=_environment(scenario.pip),
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
def _serving(builder: str, scenario: Scenario, world: World, tmp_path: Path) -> Iterator[Server]:
    """The scenario's image, built and started as a replica; stopped afterwards."""
    location, log, backend = _build(builder, scenario, world, tmp_path)
    reservation = PortReservation()
    replica_log = tmp_path / "replica.log"
    try:
        launch = backend.launch(LaunchSpec("provided", location, reservation.port, replica_log))
        try:
            _wait_ready(launch, reservation.port, replica_log)
            yield Server(reservation.port, log.path.read_text(), location)
        finally:
            launch.stop()
    finally:
        reservation.release()


def _wait_ready(run: Any, port: int, replica_log: Path) -> None:
    """Until ``GET /`` answers 200; fails with the log if ``run`` (a Launch or a Popen) ends."""
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        ended = run.exit_status() if hasattr(run, "exit_status") else run.poll()
        if ended is not None:
            pytest.fail(f"the server exited: {ended}\n{replica_log.read_text()}")
        with contextlib.suppress(OSError):
            if Server(port, "", "").call("GET", "/").status == "200 OK":
                return
        time.sleep(0.2)
    pytest.fail(f"the replica was not ready in {_READY_TIMEOUT_S} s\n{replica_log.read_text()}")


BUILDERS = ["host", "local", pytest.param("docker", marks=pytest.mark.docker)]


@pytest.mark.slow
@pytest.mark.parametrize("distribution", sorted(SCENARIOS))
@pytest.mark.parametrize("builder", BUILDERS)
def test_what_a_provided_distribution_offers_in_azure_works_in_an_image(
    builder: str,
    distribution: str,
    world: World,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    if builder == "docker":
        request.getfixturevalue("docker_engine")  # skips, or fails under --require-docker
    scenario = SCENARIOS[distribution]
    with _serving(builder, scenario, world, tmp_path) as server:
        scenario.check(server)


def _in_image(location: str, code: str) -> str:
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


@pytest.mark.slow
def test_a_users_pin_of_inference_schema_is_installed_as_pinned_with_its_extras(
    world: World, tmp_path: Path
) -> None:
    def check(server: Server) -> None:
        swagger = json.loads(server.call("GET", "/swagger.json").body)
        assert swagger["definitions"]["ServiceInput"]["example"] == {"data": [[1.0, 2.0, 3.0, 4.0]]}
        reply = server.call("POST", "/score", b'{"data": [[1, 2, 3, 4], [1, 1, 1, 1]]}', JSON)
        assert (reply.status, json.loads(reply.body)) == ("200 OK", [10.0, 4.0])
        assert "installed as pinned (==1.7.2)" in server.build_log

    pinned = Scenario(
        ("inference-schema[numpy-support]==1.7.2",), SCORING / "score_schema_sums.py", check
    )
    with _serving("local", pinned, world, tmp_path) as server:
        pinned.check(server)
        probe = "import importlib.metadata as m, numpy; print(m.version('inference-schema'))"
        assert _in_image(server.location, probe) == "1.7.2"


@pytest.mark.slow
def test_microsofts_sample_environment_deploys_healthy_to_local_aci_and_aks(
    aml_workspace: Workspace,
    workdir: Path,
    iris_pickle: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "local")  # installs what the sample lists
    monkeypatch.setenv("AZUREML_EMULATOR_PROVISIONING_SECONDS", "0")
    shutil.copy(iris_pickle, workdir / "model.pkl")
    model = Model.register(aml_workspace, "model.pkl", "sklearn-iris")
    shutil.copy(SCORING / "server" / "score_schema.py", workdir / "score.py")
    config = InferenceConfig(
        entry_script="score.py", environment=_environment(SCENARIOS["inference-schema"].pip)
    )
    cluster = ComputeTarget.create(
        aml_workspace, "aks-sample", AksCompute.provisioning_configuration()
    )
    cluster.wait_for_completion()
    reservation = PortReservation()
    port = reservation.port
    reservation.release()
    targets = [
        ("sample-local", LocalWebservice.deploy_configuration(port=port), None, "running"),
        (
            "sample-aci",
            AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1),
            None,
            "Healthy",
        ),
        ("sample-aks", AksWebservice.deploy_configuration(), cluster, "Healthy"),
    ]
    expected = json.loads(recorded("infsrv-schema-good.txt").body)
    rows = (curl("infsrv-schema-good.txt")[2] or b"").decode()
    for name, deployment, target, healthy in targets:
        service = Model.deploy(aml_workspace, name, [model], config, deployment, target)
        service.wait_for_deployment()
        assert service.state == healthy, service.get_logs()
        assert service.run(rows) == expected
        service.delete()


@pytest.mark.slow
def test_a_fresh_install_serves_an_inference_schema_script_as_azmlinfsrv_does(
    tmp_path: Path, iris_pickle: Path
) -> None:
    """``pip install azureml-emulator`` (no extras) and the script's own libraries, then
    ``amlemu serve``: inference-schema comes with the emulator, as with azmlinfsrv."""
    uv = shutil.which("uv")
    assert uv, "uv (a test dependency) is needed to make the fresh virtualenv"
    source = tmp_path / "source"  # a copy: building in the checkout would write into it
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for part in ("emulator", "plugins"):
        shutil.copytree(REPO / part, source / part, ignore=ignore)
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / part, source / part)
    venv = tmp_path / "venv"
    python = str(venv / "bin" / "python")
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    libraries = ["joblib", f"scikit-learn=={_sklearn_version()}"]  # score_schema.py's imports
    subprocess.run([uv, "pip", "install", "-q", "--python", python, source, *libraries], check=True)
    shown = subprocess.run(
        [uv, "pip", "show", "--python", python, "inference-schema"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Required-by: azureml-emulator" in shown, shown

    model_dir = tmp_path / "app" / "azureml-models" / "sklearn-iris" / "1"
    model_dir.mkdir(parents=True)
    shutil.copy(iris_pickle, model_dir / "model.pkl")
    shutil.copy(SCORING / "server" / "score_schema.py", tmp_path / "app" / "score.py")
    reservation = PortReservation()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    command = ["serve", "--entry_script", "score.py", "--model_dir", str(model_dir)]
    with (tmp_path / "serve.log").open("wb") as output:
        server = subprocess.Popen(
            [str(venv / "bin" / "amlemu"), *command, "--port", str(reservation.port)],
            cwd=tmp_path / "app",
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(server, reservation.port, tmp_path / "serve.log")
        served = Server(reservation.port, "", "")
        _answers_like_azmlinfsrv(
            served, "infsrv-swagger-schema.txt", served.call(*curl("infsrv-swagger-schema.txt"))
        )
        for transcript in SCHEMA_TRANSCRIPTS:
            _answers_like_azmlinfsrv(served, transcript, served.call(*curl(transcript)))
    finally:
        server.terminate()
        server.wait(timeout=30)
        reservation.release()


@pytest.mark.slow
def test_validate_accepts_the_inference_servers_import_paths(tmp_path: Path) -> None:
    """``amlemu validate`` (host mode) resolves them as a scoring worker does: the emulator's."""
    shutil.copy(SCORING / "provided" / "score_infsrv_raw.py", tmp_path / "score.py")
    spec = CondaDependencies.create(
        pip_packages=["azureml-inference-server-http==1.4.1"],
        python_version=f"{sys.version_info[0]}.{sys.version_info[1]}",
    )
    (tmp_path / "env.yml").write_text(spec.serialize_to_string())
    command = ["validate", "--entry-script", "score.py", "--conda-file", "env.yml"]
    done = subprocess.run(
        [sys.executable, "-m", "emulator", *command, "--builder", "host"],
        cwd=tmp_path,
        env={**os.environ, "AZUREML_EMULATOR_ROOT": str(tmp_path / "root")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0 and "AML010" not in done.stdout, done.stdout + done.stderr
