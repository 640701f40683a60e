"""Online deployments through the real ``azure-ai-ml`` client: a deployment runs the user's
``init()``/``run()`` in a real replica, takes the endpoint's traffic, answers ``invoke``, shows
its log, and stops when deleted; a crashing ``init()`` fails the operation with the log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from azure.ai.ml import MLClient
from azure.ai.ml.constants._endpoint import EndpointInvokeFields
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
)
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential

from emulator.daemon.server import EmulatorServer
from emulator.services.hosting import HOST
from emulator.settings import BUILDER_ENV

SUB = "11111111-2222-3333-4444-555555555555"

SCORE = """
import json, os

def init():
    global factor
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "factor.txt")) as f:
        factor = int(f.read())
    print("model loaded, factor", factor)

def run(raw):
    return {"scaled": [x * factor for x in json.loads(raw)["data"]]}
"""

CRASHING = """
def init():
    raise RuntimeError("weights are corrupt")

def run(raw):
    return raw
"""


@pytest.fixture
def client(
    arm_server: EmulatorServer, v2_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> MLClient:
    monkeypatch.setenv(BUILDER_ENV, "host")  # replicas run on this interpreter: no installs
    return MLClient(DefaultAzureCredential(), SUB, "rg", "ws")


def _replicas(endpoint: str) -> list[str]:
    """Replicas this process (the in-process server) still runs for ``endpoint``."""
    return [
        c.name
        for d in HOST.deployments()
        if d.name.startswith(f"v2:{endpoint}:")
        for c in d.containers()
    ]


def _deployment(tmp_path: Path, name: str, endpoint: str, score: str) -> ManagedOnlineDeployment:
    (tmp_path / "factor.txt").write_text("3")
    code = tmp_path / f"src-{name}"
    code.mkdir()
    (code / "score.py").write_text(score)
    return ManagedOnlineDeployment(
        name=name,
        endpoint_name=endpoint,
        model=Model(path=str(tmp_path / "factor.txt")),
        code_configuration=CodeConfiguration(code=str(code), scoring_script="score.py"),
        environment=Environment(image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"),
        instance_type="Standard_DS3_v2",
        instance_count=1,
    )


def test_a_deployment_serves_the_endpoint_shows_its_log_and_stops_when_deleted(
    client: MLClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="ep1")).result()
    poller = client.online_deployments.begin_create_or_update(
        _deployment(tmp_path, "blue", "ep1", SCORE)
    )
    created = poller.result()
    assert (created.name, created.provisioning_state) == ("blue", "Succeeded")
    assert poller.status() == "Succeeded"

    endpoint = client.online_endpoints.get("ep1")
    endpoint.traffic = {"blue": 100}
    client.online_endpoints.begin_create_or_update(endpoint).result()
    assert client.online_endpoints.get("ep1").traffic == {"blue": 100}

    request = tmp_path / "request.json"
    request.write_text(json.dumps({"data": [1, 2]}))
    answer = client.online_endpoints.invoke(endpoint_name="ep1", request_file=str(request))
    assert json.loads(answer) == {"scaled": [3, 6]}

    assert client.online_deployments.get("blue", "ep1").instance_type == "Standard_DS3_v2"
    assert [d.name for d in client.online_deployments.list("ep1")] == ["blue"]
    assert "model loaded, factor 3" in client.online_deployments.get_logs("blue", "ep1", lines=50)
    # Names are case-insensitive: traffic given to "BLUE" goes to blue, which then cannot go.
    endpoint.traffic = {"BLUE": 100}
    client.online_endpoints.begin_create_or_update(endpoint).result()
    with pytest.raises(HttpResponseError, match="receives 100% of endpoint 'ep1''s traffic"):
        client.online_deployments.begin_delete(name="blue", endpoint_name="ep1").result()

    endpoint.traffic = {"blue": 0}
    client.online_endpoints.begin_create_or_update(endpoint).result()
    # azure-ai-ml 1.35.2 adds deployment_name's header to a class-level dict: every later invoke
    # in the process would send it. A copy, restored after the test, keeps that to this call.
    headers = dict(EndpointInvokeFields.DEFAULT_HEADER)
    monkeypatch.setattr(EndpointInvokeFields, "DEFAULT_HEADER", headers)
    named = client.online_endpoints.invoke(
        endpoint_name="ep1", deployment_name="blue", request_file=str(request)
    )
    assert json.loads(named) == {"scaled": [3, 6]}  # the header routes without traffic
    headers.pop(EndpointInvokeFields.MODEL_DEPLOYMENT)
    client.online_deployments.begin_delete(name="blue", endpoint_name="ep1").result()
    assert list(client.online_deployments.list("ep1")) == []
    assert _replicas("ep1") == []  # stopped, not left running
    with pytest.raises(HttpResponseError, match="No valid deployments to route to"):
        client.online_endpoints.invoke(endpoint_name="ep1", request_file=str(request))


def test_a_crashing_init_fails_the_deployment_with_the_log_and_leaves_no_replica(
    client: MLClient, tmp_path: Path, arm_server: EmulatorServer
) -> None:
    client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="ep2")).result()
    with pytest.raises(HttpResponseError) as failed:
        client.online_deployments.begin_create_or_update(
            _deployment(tmp_path, "red", "ep2", CRASHING)
        ).result()
    assert "User container has crashed or terminated" in str(failed.value)
    assert "weights are corrupt" in str(failed.value)
    assert client.online_deployments.get("red", "ep2").provisioning_state == "Failed"
    assert _replicas("ep2") == []
    client.online_endpoints.begin_delete(name="ep2").result()
    assert [e.name for e in client.online_endpoints.list()] == []
