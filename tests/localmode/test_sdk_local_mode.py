"""azure-ai-ml's ``local=True`` against the emulator's Docker API, through the real SDK and the
real ``docker`` package: endpoint and deployment created, invoked, logged and deleted with a
local model, code and conda environment; the SDK's own client-side limits still apply."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from urllib.parse import urlparse

import docker
import pytest
from azure.ai.ml import MLClient, load_environment
from azure.ai.ml.constants._endpoint import LocalEndpointConstants
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
)
from azure.ai.ml.exceptions import (
    InvalidLocalEndpointError,
    LocalEndpointImageBuildError,
    LocalEndpointInFailedStateError,
    LocalEndpointNotFoundError,
)

AZURE_BASE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest"


def _deployment(
    project: Path, name: str, endpoint: str, script: str = "score.py", conda: str = "conda.yml"
) -> ManagedOnlineDeployment:
    return ManagedOnlineDeployment(
        name=name,
        endpoint_name=endpoint,
        model=Model(path=str(project / "model")),
        code_configuration=CodeConfiguration(code=str(project / "src"), scoring_script=script),
        environment=Environment(conda_file=str(project / conda), image=AZURE_BASE),
        instance_type="Standard_DS3_v2",
        instance_count=1,
    )


def _port_open(uri: str) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", urlparse(uri).port or 0)) == 0


def test_local_flow(ml_client: MLClient, project: Path) -> None:
    """The tutorial's local flow, unchanged SDK (its 15 s startup wait included)."""
    assert LocalEndpointConstants.DEFAULT_STARTUP_WAIT_TIME_SECONDS == 15
    engine = docker.from_env().version()
    assert engine["Platform"]["Name"].startswith("azureml-emulator")  # no other engine

    endpoint = ml_client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="local-ep", auth_mode="key"), local=True
    )
    assert endpoint.name == "local-ep"
    created = ml_client.online_deployments.begin_create_or_update(
        _deployment(project, "blue", "local-ep"), local=True
    )
    assert created.provisioning_state == "Succeeded"

    answer = ml_client.online_endpoints.invoke(
        "local-ep", request_file=str(project / "sample.json"), local=True
    )
    assert json.loads(answer) == {"scaled": [3, 6]}
    logs = ml_client.online_deployments.get_logs("blue", "local-ep", lines=50, local=True)
    assert "model loaded, factor 3" in logs
    assert "POST /score 200" in logs

    shown = ml_client.online_endpoints.get("local-ep", local=True)
    assert shown.provisioning_state == "Succeeded"
    assert shown.scoring_uri.startswith("http://localhost:")
    assert [d.name for d in ml_client.online_deployments.list("local-ep", local=True)] == ["blue"]

    ml_client.online_endpoints.begin_delete("local-ep", local=True)
    assert list(ml_client.online_endpoints.list(local=True)) == []
    assert not _port_open(shown.scoring_uri)  # the replica is gone with its container
    with pytest.raises(LocalEndpointNotFoundError):
        ml_client.online_endpoints.get("local-ep", local=True)


@pytest.mark.usefixtures("no_startup_wait")
def test_second_deployment_replaces_the_first(ml_client: MLClient, project: Path) -> None:
    """Azure's local endpoints hold one deployment: the SDK itself removes the endpoint's
    container before starting another one (azure-ai-ml's DockerClient.create_deployment)."""
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="ep"), local=True)
    ml_client.online_deployments.begin_create_or_update(
        _deployment(project, "blue", "ep"), local=True
    )
    (project / "src" / "double.py").write_text(
        "import json\ndef init():\n    pass\n"
        "def run(raw):\n    return {'doubled': [2 * x for x in json.loads(raw)['data']]}\n"
    )
    ml_client.online_deployments.begin_create_or_update(
        _deployment(project, "green", "ep", script="double.py"), local=True
    )

    assert [d.name for d in ml_client.online_deployments.list("ep", local=True)] == ["green"]
    with pytest.raises(LocalEndpointNotFoundError):
        ml_client.online_deployments.get("blue", "ep", local=True)
    answer = ml_client.online_endpoints.invoke(
        "ep", request_file=str(project / "sample.json"), local=True
    )
    assert json.loads(answer) == {"doubled": [2, 4]}


@pytest.mark.usefixtures("no_startup_wait")
def test_endpoint_without_deployment_answers_the_sdks_text(
    ml_client: MLClient, project: Path
) -> None:
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="ep"), local=True)
    answer = ml_client.online_endpoints.invoke(
        "ep", request_file=str(project / "sample.json"), local=True
    )
    assert "does not have any deployments" in answer


@pytest.mark.usefixtures("no_startup_wait")
def test_crashing_init_fails_the_deployment_with_its_log(
    ml_client: MLClient, project: Path
) -> None:
    (project / "src" / "broken.py").write_text(
        "def init():\n    raise RuntimeError('weights are corrupt')\n"
        "def run(raw):\n    return raw\n"
    )
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="ep"), local=True)
    with pytest.raises(LocalEndpointInFailedStateError):
        ml_client.online_deployments.begin_create_or_update(
            _deployment(project, "blue", "ep", script="broken.py"), local=True
        )
    assert ml_client.online_deployments.get("blue", "ep", local=True).provisioning_state == (
        "Failed"
    )
    logs = ml_client.online_deployments.get_logs("blue", "ep", lines=1000, local=True)
    assert "RuntimeError: weights are corrupt" in logs


@pytest.mark.usefixtures("no_startup_wait")
def test_uninstallable_conda_spec_fails_the_image_build(ml_client: MLClient, project: Path) -> None:
    (project / "gpu.yml").write_text("dependencies:\n  - python=3.11\n  - cudatoolkit=11.8\n")
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="ep"), local=True)
    with pytest.raises(LocalEndpointImageBuildError, match="cudatoolkit"):
        ml_client.online_deployments.begin_create_or_update(
            _deployment(project, "blue", "ep", conda="gpu.yml"), local=True
        )
    with pytest.raises(LocalEndpointNotFoundError):  # no container was started
        ml_client.online_deployments.get("blue", "ep", local=True)


@pytest.mark.usefixtures("no_startup_wait")
def test_a_prebuilt_image_cannot_be_pulled(ml_client: MLClient, project: Path) -> None:
    """BYOC (an environment with inference_config, as `az ml` YAML gives it) needs a registry:
    the pull is refused, and the SDK names the image."""
    (project / "byoc.yml").write_text(
        "name: byoc\nimage: myregistry.azurecr.io/scoring:1\ninference_config:\n"
        "  liveness_route: {path: /, port: 8080}\n  readiness_route: {path: /, port: 8080}\n"
        "  scoring_route: {path: /score, port: 8080}\n"
    )
    deployment = _deployment(project, "blue", "ep")
    deployment.environment = load_environment(source=project / "byoc.yml")
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="ep"), local=True)
    image = re.escape("myregistry.azurecr.io/scoring:1")
    with pytest.raises(InvalidLocalEndpointError, match=image):
        ml_client.online_deployments.begin_create_or_update(deployment, local=True)
