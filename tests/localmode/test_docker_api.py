"""The emulator's Docker API through the real ``docker`` package (docker-py 7): the calls
azure-ai-ml's local endpoints make, with Docker's answers, and Docker-shaped refusals of what a
process replica cannot do."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import docker
import pytest
from azure.ai.ml._local_endpoints.dockerfile_resolver import DockerfileResolver
from docker.models.images import Image
from localmode_files import CONDA, SCORE

from emulator.dockerapi import DockerApiServer, private_socket
from emulator.settings import BUILDER_ENV
from emulator.store.root import EmulatorRoot

SDK_BASE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest"


@pytest.fixture
def client(docker_api: DockerApiServer) -> docker.DockerClient:
    return docker.from_env()


def _context(directory: Path, dockerfile: str | None = None) -> Path:
    """A build context as azure-ai-ml writes one (its own DockerfileResolver, conda.yml)."""
    directory.mkdir()
    (directory / "conda.yml").write_text(CONDA)
    if dockerfile is None:
        resolver = DockerfileResolver(
            docker_base_image=SDK_BASE,
            dockerfile=None,  # type: ignore[arg-type]
            docker_conda_file_name="conda.yml",
            docker_port="5001",
            docker_azureml_app_path="/var/azureml-app/",
        )
        resolver.write_file(str(directory))
    else:
        (directory / "Dockerfile").write_text(dockerfile)
    return directory


@pytest.fixture
def image(client: docker.DockerClient, tmp_path: Path) -> Image:
    built, _ = client.images.build(path=str(_context(tmp_path / "ctx")), tag="ep:blue")
    return built


def test_the_engine_says_what_it_is_and_refuses_other_calls(client: docker.DockerClient) -> None:
    version = client.version()
    assert version["ApiVersion"] == "1.44"
    assert version["Platform"]["Name"].startswith("azureml-emulator")
    assert client.ping()
    with pytest.raises(docker.errors.APIError) as raised:
        client.networks.list()
    assert raised.value.status_code == 404
    assert "point DOCKER_HOST at a Docker engine" in raised.value.explanation


def test_missing_things_answer_dockers_errors(client: docker.DockerClient) -> None:
    with pytest.raises(docker.errors.NotFound, match="No such container: nope"):
        client.containers.get("nope")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("nope:1")
    with pytest.raises(docker.errors.ImageNotFound):
        client.containers.create("nope:1", environment={"AZUREML_ENTRY_SCRIPT": "score.py"})
    with pytest.raises(docker.errors.NotFound, match="pull access denied"):
        client.images.pull("myregistry.azurecr.io/scoring", tag="1")


def test_build_streams_the_log_and_tags_the_image(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    built, log = client.images.build(path=str(_context(tmp_path / "ctx")), tag="ep:blue")
    lines = "".join(entry.get("stream", "") for entry in log)
    assert "Step: Resolve requirements" in lines
    assert "Successfully tagged ep:blue" in lines
    assert built.tags == ["ep:blue"]
    config = client.images.get("ep:blue").attrs["Config"]
    assert config["WorkingDir"] == "/var/azureml-app"
    assert "5001/tcp" in config["ExposedPorts"]


def test_build_refuses_steps_it_cannot_perform(client: docker.DockerClient, tmp_path: Path) -> None:
    dockerfile = f"FROM {SDK_BASE}\nRUN apt-get install -y libgomp1\n"
    with pytest.raises(docker.errors.BuildError) as raised:
        client.images.build(path=str(_context(tmp_path / "ctx", dockerfile)), tag="ep:blue")
    assert "line 2" in raised.value.msg
    assert "apt-get install -y libgomp1" in raised.value.msg
    assert "conda_file" in raised.value.msg


def test_an_uppercase_tag_is_refused_as_docker_does(client: docker.DockerClient) -> None:
    """docker-py checks tags itself; a client that does not gets Docker's 400 from the API."""
    answer = client.api.post(client.api._url("/build"), params={"t": "Ep:blue"}, data=b"")
    assert answer.status_code == 400
    assert "repository name (Ep) must be lowercase" in answer.json()["message"]


def test_a_container_runs_the_mounted_script_and_model(
    client: docker.DockerClient, image: Image, tmp_path: Path
) -> None:
    code, model = tmp_path / "onlinescoring", tmp_path / "model"
    code.mkdir()
    (code / "score.py").write_text(SCORE)
    (model / "model").mkdir(parents=True)
    (model / "model" / "factor.txt").write_text("5")
    container = client.containers.create(
        "ep:blue",
        name="ep.blue",
        labels={"azureml-local-endpoint": "", "endpoint": "ep", "deployment": "blue"},
        volumes=[
            f"{model}:/var/azureml-app/azureml-models/m/1:z",
            f"{code}:/var/azureml-app/onlinescoring/",
        ],
        environment={
            "AZUREML_MODEL_DIR": "/var/azureml-app/azureml-models/m/1",
            "AML_APP_ROOT": "/var/azureml-app/onlinescoring/",
            "AZUREML_ENTRY_SCRIPT": "score.py",
        },
        publish_all_ports=True,
    )
    assert container.status == "created"
    with pytest.raises(docker.errors.APIError, match="already in use") as conflict:
        client.containers.create(
            "ep:blue", name="ep.blue", environment={"AZUREML_ENTRY_SCRIPT": "s"}
        )
    assert conflict.value.status_code == 409

    container.start()
    container.reload()
    assert container.status == "running"
    [published] = container.ports["5001/tcp"]
    assert published["HostIp"] == "127.0.0.1"
    request = urllib.request.Request(
        f"http://127.0.0.1:{published['HostPort']}/score",
        data=b'{"data": [1, 2]}',
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert json.loads(answer.read()) == {"scaled": [5, 10]}
    listed = client.containers.list(filters={"label": ["endpoint=ep", "deployment=blue"]})
    assert [c.name for c in listed] == ["ep.blue"]
    assert client.containers.list(filters={"label": ["deployment=green"]}, all=True) == []

    with pytest.raises(docker.errors.APIError, match="cannot remove a running container"):
        container.remove()
    assert b"model loaded, factor 5" in container.logs()  # multiplexed without a TTY

    container.stop(timeout=5)
    container.reload()
    assert container.status == "exited"
    assert container.ports["5001/tcp"] is None
    log = Path(container.attrs["LogPath"])
    assert log.is_file()
    container.remove()
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("ep.blue")
    assert not log.exists()  # docker rm removes the container's log too


def test_images_and_containers_go_with_their_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session's Docker API (amlemu run, activate()) leaves nothing under the root."""
    monkeypatch.setenv(BUILDER_ENV, "host")
    root = EmulatorRoot(tmp_path / "root")
    with DockerApiServer(root, private_socket()) as server:
        client = docker.DockerClient(base_url=server.docker_host)
        client.images.build(path=str(_context(tmp_path / "ctx")), tag="ep:blue")
        client.containers.run(
            "ep:blue",
            detach=True,
            volumes=[f"{tmp_path}:/var/azureml-app/src"],
            environment={"AML_APP_ROOT": "/var/azureml-app/src", "AZUREML_ENTRY_SCRIPT": "x.py"},
        )
        assert any((root.path / "dockerapi" / "images").iterdir())
    assert list((root.path / "dockerapi" / "images").iterdir()) == []
    assert list((root.path / "dockerapi" / "containers").iterdir()) == []


def test_a_crashing_server_exits_with_its_code(
    client: docker.DockerClient, image: Image, tmp_path: Path
) -> None:
    (tmp_path / "score.py").write_text("def init():\n    raise SystemExit(7)\n")
    container = client.containers.run(
        "ep:blue",
        detach=True,
        tty=True,
        volumes=[f"{tmp_path}:/var/azureml-app/src"],
        environment={"AML_APP_ROOT": "/var/azureml-app/src", "AZUREML_ENTRY_SCRIPT": "score.py"},
    )
    container.reload()
    assert container.status == "exited"
    assert container.attrs["State"]["ExitCode"] != 0
    assert container.ports == {"5001/tcp": None}


def test_what_a_process_replica_cannot_do_is_refused(
    client: docker.DockerClient, image: Image, tmp_path: Path
) -> None:
    env = {"AZUREML_ENTRY_SCRIPT": "score.py"}
    gpu = [docker.types.DeviceRequest(count=-1, capabilities=[["gpu"]])]
    with pytest.raises(docker.errors.APIError, match="could not select device driver"):
        client.containers.create("ep:blue", environment=env, device_requests=gpu)
    with pytest.raises(docker.errors.APIError, match="bind source path does not exist"):
        client.containers.create("ep:blue", environment=env, volumes=["/no/such/dir:/x"])
    with pytest.raises(docker.errors.APIError, match="Fixed port bindings"):
        client.containers.create("ep:blue", environment=env, ports={"5001/tcp": 8080})
    with pytest.raises(docker.errors.APIError, match="Invalid container name"):
        client.containers.create("ep:blue", name="ep/blue", environment=env)
    with pytest.raises(docker.errors.APIError, match="code_configuration"):
        client.containers.create("ep:blue")  # an MLflow (no-code) deployment has no script
