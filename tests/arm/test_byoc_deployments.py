"""Bring your own container through the real ``azure-ai-ml``: an environment with an image and an
``inference_config`` deploys with no scoring script; the image runs on the Docker backend as
configured, the scoring URI reaches its own scoring route, the probes ask its own liveness and
readiness routes, the model is mounted at ``AZUREML_MODEL_DIR`` and the deployment's variables
reach it. A failed update leaves the previous version serving (beside the new container when that
listens on another port, started again when it needs the same one). A readiness route that fails
keeps the deployment from becoming ready; an image that is not in the local engine, an engine
out of reach and more replicas than the host's ports allow fail the deployment, each saying how
to fix it."""

from __future__ import annotations

import contextlib
import html
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.ai.ml import MLClient
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    ProbeSettings,
)
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from werkzeug.test import Client

from emulator import Workspace
from emulator.daemon.server import EmulatorServer
from emulator.portal.app import PortalApp
from tests.arm.byoc_support import build_image, free_port

SUB = "11111111-2222-3333-4444-555555555555"
#: Probes quick enough for a test: a failing readiness route is given up on after 3 s.
QUICK_LIVENESS = ProbeSettings(initial_delay=1, period=1, failure_threshold=2, timeout=2)
QUICK_READINESS = ProbeSettings(initial_delay=1, period=1, failure_threshold=1, timeout=2)


@pytest.fixture(scope="module")
def image(docker_engine: Any) -> Iterator[str]:
    """The custom server's image, built once per module (per xdist worker), removed after."""
    tag = build_image(docker_engine)
    yield tag
    with contextlib.suppress(Exception):
        docker_engine.images.remove(tag, force=True)


@pytest.fixture
def client(arm_server: EmulatorServer, v2_env: dict[str, str]) -> MLClient:
    return MLClient(DefaultAzureCredential(), SUB, "rg", "ws")


def _environment(image: str, port: int) -> Environment:
    return Environment(
        name="custom-server",
        image=image,
        inference_config={
            "liveness_route": {"port": port, "path": "/alive"},
            "readiness_route": {"port": port, "path": "/ready"},
            "scoring_route": {"port": port, "path": "/predict"},
        },
    )


def _deploy(
    client: MLClient,
    endpoint: str,
    image: str,
    variables: dict[str, str] | None = None,
    port: int | None = None,
    **settings: Any,
) -> ManagedOnlineDeployment:
    """Create ``endpoint`` and its deployment ``blue`` of ``image`` listening on ``port`` (a
    free one by default); waits for the outcome."""
    client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=endpoint)).result()
    port = port or free_port()
    deployment = ManagedOnlineDeployment(
        name="blue",
        endpoint_name=endpoint,
        environment=_environment(image, port),
        environment_variables={"BYOC_PORT": str(port), **(variables or {})},
        instance_type="Standard_DS3_v2",
        **{"instance_count": 1, **settings},
    )
    return client.online_deployments.begin_create_or_update(deployment).result()


@pytest.mark.docker
def test_custom_container_scores_on_its_route_with_the_model_mounted(
    client: MLClient, image: str, tmp_path: Path, arm_server: EmulatorServer
) -> None:
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "w.txt").write_text("0.25")
    code = tmp_path / "online:scoring"  # a ":" in the name: Docker mounts it as it is
    (code / "app").mkdir(parents=True)
    (code / "app" / "score.py").write_text("# the server's own script")
    created = _deploy(
        client,
        "byoc1",
        image,
        {"GREETING": "hello"},
        model=Model(name="weights", path=str(weights)),
        code_configuration=CodeConfiguration(code=str(code), scoring_script="app/score.py"),
        liveness_probe=ProbeSettings(failure_threshold=2),
    )
    assert created.provisioning_state == "Succeeded"
    endpoint = client.online_endpoints.get("byoc1")
    endpoint.traffic = {"blue": 100}
    client.online_endpoints.begin_create_or_update(endpoint).result()
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"data": [1, 2]}))

    answer = json.loads(client.online_endpoints.invoke("byoc1", request_file=str(request)))

    port = client.online_deployments.get("blue", "byoc1").environment_variables["BYOC_PORT"]
    assert answer["path"] == "/predict"  # the scoring URI's /score went to the image's route
    assert answer["input"] == {"data": [1, 2]}
    assert answer["model_dir"] == "/var/azureml-app/azureml-models/weights/1"
    assert answer["model_files"] == {"weights/w.txt": "0.25"}
    # the code as azure-ai-ml's local endpoints mount it: /var/azureml-app/<code folder>
    assert answer["app_root"] == "/var/azureml-app/online:scoring/app"
    assert answer["entry_script"] == "# the server's own script"
    assert answer["greeting"] == "hello"
    log = _log_once(client, "byoc1", "POST /predict")  # the engine streams the log to a file
    assert "custom server listening on" in log
    assert "GET /ready kube-probe" in log  # readiness asked the image's own route
    workspace = Workspace.get("ws", subscription_id=SUB, resource_group="rg")
    portal = Client(PortalApp(workspace, arm_url=lambda: arm_server.base_url))
    page = html.unescape(portal.get("/endpoints/byoc1/deployments/blue").text)
    assert 'class="state Succeeded"' in page
    assert f"image={image}" in page
    assert f"scoring=:{port}/predict" in page
    assert "custom server listening on" in page  # the instance's log

    # An update on the same port replaces the replica (the new one needs the old one's port).
    created.environment_variables = {**created.environment_variables, "GREETING": "bye"}
    updated = client.online_deployments.begin_create_or_update(created).result()
    assert updated.provisioning_state == "Succeeded"
    answer = json.loads(client.online_endpoints.invoke("byoc1", request_file=str(request)))
    assert answer["greeting"] == "bye"

    # Its liveness route fails: the container is restarted, and serves again.
    breaker = tmp_path / "break.json"
    breaker.write_text(json.dumps("fail liveness"))
    client.online_endpoints.invoke("byoc1", request_file=str(breaker))
    log = _log_once(client, "byoc1", "Liveness probe failed 2 times (HTTP 500): killed")
    assert "restarting in" in log
    answer = json.loads(_invoke_once_ready(client, "byoc1", request))
    assert answer["greeting"] == "bye"

    # An update on another port that never becomes ready starts beside the running container
    # (Azure's rolling update): the deployment fails and the old version answers throughout.
    other = free_port()
    created.environment = _environment(image, other)
    created.environment_variables = {
        **created.environment_variables,
        "BYOC_PORT": str(other),
        "READY_STATUS": "503",
    }
    created.liveness_probe, created.readiness_probe = QUICK_LIVENESS, QUICK_READINESS
    with (
        _answers_meanwhile(client, "byoc1", request) as greetings,
        pytest.raises(HttpResponseError) as raised,
    ):
        client.online_deployments.begin_create_or_update(created).result()
    assert greetings and set(greetings) == {"bye"}  # every request during the update: old one
    message = str(raised.value)
    assert "ResourceNotReady" in message
    assert "the previous version keeps serving" in message
    _assert_failed_and_old_version_answers(client, "byoc1", request)

    # On the running container's own port the update must stop it first (one listener per host
    # port): when the new one does not become ready, the previous one is started again.
    created.environment = _environment(image, int(port))
    created.environment_variables = {**created.environment_variables, "BYOC_PORT": port}
    with pytest.raises(HttpResponseError) as raised:
        client.online_deployments.begin_create_or_update(created).result()
    message = str(raised.value)
    assert "Readiness probe failed: HTTP probe failed with statuscode: 503" in message
    assert "The previous version serves again" in message
    assert f"both listen on host port {port}" in message
    assert "Give the update another port" in message
    _assert_failed_and_old_version_answers(client, "byoc1", request)


@pytest.mark.docker
def test_a_previous_version_that_cannot_start_again_is_reported_with_the_updates_failure(
    client: MLClient, image: str, docker_engine: Any
) -> None:
    """The same-port update stops the running container; when neither the update nor the
    previous version (its image removed meanwhile) starts, the error still gives the update's
    reason, then the previous version's, and that nothing serves."""
    repository = image.rsplit(":", 1)[0]
    previous = f"{repository}:previous-{free_port()}"
    docker_engine.images.get(image).tag(repository, previous.rsplit(":", 1)[1])
    port = free_port()
    created = _deploy(client, "byoc8", previous, port=port)
    assert created.provisioning_state == "Succeeded"
    docker_engine.images.remove(previous, force=True)  # untagged: its container runs on
    created.environment = _environment(image, port)  # the same port: the running one stops
    created.environment_variables = {**created.environment_variables, "READY_STATUS": "503"}
    created.liveness_probe, created.readiness_probe = QUICK_LIVENESS, QUICK_READINESS
    with pytest.raises(HttpResponseError) as raised:
        client.online_deployments.begin_create_or_update(created).result()
    message = str(raised.value)
    assert "Readiness probe failed: HTTP probe failed with statuscode: 503" in message
    assert "did not become ready again either" in message
    assert f"Image {previous} cannot be started" in message
    assert "Nothing serves this deployment now" in message


def _assert_failed_and_old_version_answers(client: MLClient, endpoint: str, request: Path) -> None:
    """What a user sees after a failed update: get() says Failed, invoke answers as before."""
    failed = client.online_deployments.get("blue", endpoint)
    assert failed.provisioning_state == "Failed"
    answer = json.loads(client.online_endpoints.invoke(endpoint, request_file=str(request)))
    assert answer["greeting"] == "bye"
    assert answer["model_files"] == {"weights/w.txt": "0.25"}  # its own model files, still there


@contextlib.contextmanager
def _answers_meanwhile(client: MLClient, endpoint: str, request: Path) -> Iterator[list[str]]:
    """Invoke ``endpoint`` over and over in a thread while the body runs; yields the list of
    the answers' greetings (an error fails the test at the end of the block)."""
    greetings: list[str] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def invoke() -> None:
        while not done.is_set():
            try:
                answer = client.online_endpoints.invoke(endpoint, request_file=str(request))
                greetings.append(json.loads(answer)["greeting"])
            except BaseException as exc:  # reported by the test's thread
                errors.append(exc)
                return
            done.wait(0.05)  # a steady trickle, not a flood on a shared machine

    thread = threading.Thread(target=invoke, daemon=True)
    thread.start()
    try:
        yield greetings
    finally:
        done.set()
        thread.join(30)
    assert not errors, f"invoke failed during the update: {errors[0]!r}"


def _invoke_once_ready(
    client: MLClient, endpoint: str, request: Path, timeout: float = 30.0
) -> str:
    """The answer of ``invoke`` once the restarted container is ready again: until its readiness
    route passes, the gateway holds requests and answers 429 after max_queue_wait_ms."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer: str = client.online_endpoints.invoke(endpoint, request_file=str(request))
            return answer
        except HttpResponseError as exc:
            if exc.status_code != 429 or time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def _log_once(client: MLClient, endpoint: str, text: str, timeout: float = 30.0) -> str:
    """The deployment's log once it shows ``text`` (fails after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        log = client.online_deployments.get_logs("blue", endpoint, lines=500)
        if text in log:
            return log
        assert time.monotonic() < deadline, f"{text!r} not in the log:\n{log}"
        time.sleep(0.1)


@pytest.mark.docker
def test_failing_readiness_route_keeps_the_deployment_from_becoming_ready(
    client: MLClient, image: str
) -> None:
    with pytest.raises(HttpResponseError) as raised:
        _deploy(
            client,
            "byoc2",
            image,
            {"READY_STATUS": "503"},
            liveness_probe=QUICK_LIVENESS,
            readiness_probe=QUICK_READINESS,
        )

    message = str(raised.value)
    assert "ResourceNotReady" in message
    assert "Readiness probe failed: HTTP probe failed with statuscode: 503" in message
    assert "Liveness probe failed" not in message  # /alive answers: no restart
    assert "GET /ready kube-probe" in message  # the log's tail
    assert client.online_deployments.get("blue", "byoc2").provisioning_state == "Failed"


@pytest.mark.docker
def test_a_port_another_program_listens_on_fails_the_deployment_naming_it(
    client: MLClient, image: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(HttpResponseError) as raised:
            _deploy(client, "byoc6", image, port=port)

    message = str(raised.value)
    assert f"Port {port} of custom container" in message
    assert "is in use by another program" in message


@pytest.mark.docker
def test_image_missing_from_the_engine_says_how_to_build_or_load_it(client: MLClient) -> None:
    with pytest.raises(HttpResponseError) as raised:
        _deploy(client, "byoc3", "amlemu-test/absent-custom:7")

    message = str(raised.value)
    assert "amlemu-test/absent-custom:7" in message
    assert "not in the local Docker engine" in message
    assert "docker build -t amlemu-test/absent-custom:7" in message
    assert "docker load -i" in message


def test_without_a_docker_engine_the_error_says_how_to_get_one(
    client: MLClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("docker")
    monkeypatch.delenv("AZUREML_EMULATOR_DOCKER_HOST", raising=False)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")

    with pytest.raises(HttpResponseError) as raised:
        _deploy(client, "byoc4", "amlemu-test/any-custom:1")

    message = str(raised.value)
    assert "Docker engine not reachable" in message
    assert "scripts/setup-docker.sh" in message


def test_more_instances_than_the_hosts_ports_allow_are_refused(
    client: MLClient, arm_server: EmulatorServer
) -> None:
    with pytest.raises(HttpResponseError) as raised:
        _deploy(client, "byoc5", "amlemu-test/any-custom:1", instance_count=2)

    message = str(raised.value)
    assert "asks for 2 instances" in message
    assert "use instance_count=1" in message
    # the refused version's folder (its model and code) is not left behind
    assert not list(arm_server.root.path.glob("**/online-containers/byoc5/blue/*"))


def test_an_inference_config_without_a_readiness_route_is_refused_naming_it(
    client: MLClient,
) -> None:
    client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="byoc7")).result()
    environment = Environment(
        name="half-config",
        image="amlemu-test/any-custom:1",
        inference_config={
            "liveness_route": {"port": 8080, "path": "/alive"},
            "scoring_route": {"port": 8080, "path": "/predict"},
        },
    )
    deployment = ManagedOnlineDeployment(
        name="blue",
        endpoint_name="byoc7",
        environment=environment,
        instance_type="Standard_DS3_v2",
        instance_count=1,
    )

    with pytest.raises(HttpResponseError) as raised:
        client.online_deployments.begin_create_or_update(deployment).result()

    assert raised.value.status_code == 400  # refused before anything is stored
    assert "inference_config.readiness_route of environment 'half-config:" in str(raised.value)
    assert "each with a port and a path" in str(raised.value)
