"""Kubernetes computes and Kubernetes online endpoints through the real ``azure-ai-ml`` client:
attach a cluster with instance types, list/get/detach it, create an endpoint on it and a
deployment that picks an instance type, invoke it; and the ``aad_token`` auth mode."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.ai.ml import MLClient
from azure.ai.ml.entities import (
    CodeConfiguration,
    EndpointAadToken,
    Environment,
    KubernetesCompute,
    KubernetesOnlineDeployment,
    KubernetesOnlineEndpoint,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    ResourceRequirementsSettings,
    ResourceSettings,
)
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential

from emulator import AksCompute, ComputeTarget, Workspace
from emulator.daemon.server import EmulatorServer
from emulator.services.online import online
from emulator.settings import BUILDER_ENV
from emulator.state import workspace_states

SUB = "11111111-2222-3333-4444-555555555555"
CLUSTER = (
    f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/"
    "managedClusters/aks-prod"
)
SMALL = {"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1"}}}


@pytest.fixture
def client(arm_server: EmulatorServer, v2_env: dict[str, str]) -> MLClient:
    return MLClient(DefaultAzureCredential(), SUB, "rg", "ws")


@pytest.fixture
def k8s_client(client: MLClient, monkeypatch: pytest.MonkeyPatch) -> MLClient:
    monkeypatch.setenv(BUILDER_ENV, "host")  # replicas run on this interpreter: no installs
    return client


def _attach(client: MLClient, name: str = "k8s", **properties: object) -> KubernetesCompute:
    compute = KubernetesCompute(
        name=name, resource_id=CLUSTER, namespace="azureml", properties=properties
    )
    attached = client.compute.begin_create_or_update(compute).result()
    assert isinstance(attached, KubernetesCompute)
    return attached


def test_a_cluster_is_attached_with_its_instance_types_listed_and_detached(
    client: MLClient,
) -> None:
    poller = client.compute.begin_create_or_update(
        KubernetesCompute(
            name="k8s",
            resource_id=CLUSTER,
            namespace="azureml",
            properties={"instanceTypes": {"small": SMALL}, "defaultInstanceType": "small"},
        )
    )
    attached = poller.result()
    assert poller.status() == "Succeeded"
    assert (attached.name, attached.type, attached.namespace, attached.resource_id) == (
        "k8s",
        "kubernetes",
        "azureml",
        CLUSTER,
    )
    assert attached.provisioning_state == "Succeeded"

    fetched = client.compute.get("k8s")
    assert isinstance(fetched, KubernetesCompute)
    types = fetched.properties["instanceTypes"]
    # Azure's own default instance type is always there; the user's default wins.
    assert set(types) == {"small", "defaultinstancetype"}
    assert types["defaultinstancetype"]["resources"]["requests"] == {
        "cpu": "100m",
        "memory": "2Gi",
    }
    assert fetched.properties["defaultInstanceType"] == "small"
    assert [c.name for c in client.compute.list(compute_type="kubernetes")] == ["k8s"]

    client.compute.begin_delete("k8s", action="Detach").result()
    assert list(client.compute.list()) == []
    with pytest.raises(ResourceNotFoundError, match="Compute 'k8s' is not found"):
        client.compute.get("k8s")


def test_bad_attachments_are_refused_with_the_reason(client: MLClient) -> None:
    with pytest.raises(HttpResponseError, match="Invalid resource id"):
        client.compute.begin_create_or_update(
            KubernetesCompute(name="k8s", resource_id="/subscriptions/x/clusters/nope")
        ).result()
    with pytest.raises(HttpResponseError, match="must be less than or equal to cpu limit of 1"):
        _attach(
            client,
            instanceTypes={
                "big": {"resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}
            },
        )
    with pytest.raises(HttpResponseError, match="quantities must match the regular expression"):
        _attach(client, instanceTypes={"odd": {"resources": {"limits": {"memory": "lots"}}}})
    with pytest.raises(HttpResponseError, match="Default instance type 'gpu' of compute 'k8s'"):
        _attach(client, defaultInstanceType="gpu")
    with pytest.raises(HttpResponseError, match="Compute name is invalid"):
        _attach(client, name="this-name-is-far-too-long")

    _attach(client)
    other = CLUSTER.replace("aks-prod", "aks-dev")
    with pytest.raises(HttpResponseError, match="already exists in workspace ws"):
        client.compute.begin_create_or_update(
            KubernetesCompute(name="k8s", resource_id=other)
        ).result()
    # An attached cluster was not created by Azure ML: deleting it is refused, detaching works.
    with pytest.raises(HttpResponseError, match="action='Detach'"):
        client.compute.begin_delete("k8s").result()
    client.compute.begin_delete("k8s", action="Detach").result()


def test_v1_aks_targets_are_listed_beside_kubernetes_computes(client: MLClient) -> None:
    _attach(client)  # the workspace exists from here on
    ws = Workspace.get("ws", subscription_id=SUB, resource_group="rg")
    config = AksCompute.provisioning_configuration(
        vm_size="Standard_D2_v2", agent_count=1, cluster_purpose="DevTest"
    )
    ComputeTarget.create(ws, "aks-v1", config)

    # azure-ai-ml has no entity for AKS targets: it shows them as UnsupportedCompute.
    listed = {c.name: type(c).__name__ for c in client.compute.list()}
    assert listed == {"aks-v1": "UnsupportedCompute", "k8s": "KubernetesCompute"}
    assert "/managedClusters/aks-v1" in client.compute.get("aks-v1").resource_id
    with pytest.raises(HttpResponseError, match="it is an AKS compute target"):
        client.compute.begin_create_or_update(
            KubernetesCompute(name="aks-v1", resource_id=CLUSTER)
        ).result()
    client.compute.begin_delete("aks-v1", action="Detach").result()
    assert [c.name for c in client.compute.list()] == ["k8s"]


SCORE = """
import json

def init():
    print("kubernetes replica ready")

def run(raw):
    return {"doubled": [x * 2 for x in json.loads(raw)["data"]]}
"""


def _k8s_deployment(
    tmp_path: Path, name: str, endpoint: str, **settings: Any
) -> KubernetesOnlineDeployment:
    (tmp_path / "model.txt").write_text("2")
    code = tmp_path / f"src-{name}"
    code.mkdir(exist_ok=True)
    (code / "score.py").write_text(SCORE)
    return KubernetesOnlineDeployment(
        name=name,
        endpoint_name=endpoint,
        model=Model(path=str(tmp_path / "model.txt")),
        code_configuration=CodeConfiguration(code=str(code), scoring_script="score.py"),
        environment=Environment(image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"),
        instance_count=1,
        **settings,
    )


def _limits(server: EmulatorServer, endpoint: str, deployment: str) -> set[tuple[Any, Any]]:
    """(CPU cores, memory GiB) the running replicas of ``deployment`` are limited to."""
    state = workspace_states(server.root).get(SUB, "rg", "ws")
    assert state is not None
    live = online(server.root.path, state.id, endpoint, deployment)
    assert live is not None
    return {(c.config.cpu_cores, c.config.memory_gb) for c in live.containers()}


def test_a_kubernetes_endpoint_runs_a_deployment_on_an_instance_type_and_answers(
    k8s_client: MLClient, tmp_path: Path, arm_server: EmulatorServer
) -> None:
    client = k8s_client
    _attach(client, instanceTypes={"small": SMALL})
    created = client.online_endpoints.begin_create_or_update(
        KubernetesOnlineEndpoint(name="k8s-ep", compute="k8s", auth_mode="key")
    ).result()
    assert isinstance(created, KubernetesOnlineEndpoint)
    assert (created.compute or "").endswith("/workspaces/ws/computes/k8s")
    assert (created.kind, created.provisioning_state) == ("K8S", "Succeeded")

    resources = ResourceRequirementsSettings(
        requests=ResourceSettings(cpu="250m", memory="512Mi"),
        limits=ResourceSettings(cpu="500m", memory="1Gi"),
    )
    deployment = _k8s_deployment(
        tmp_path, "blue", "k8s-ep", instance_type="small", resources=resources
    )
    done = client.online_deployments.begin_create_or_update(deployment).result()
    assert (done.provisioning_state, done.instance_type) == ("Succeeded", "small")
    fetched = client.online_deployments.get("blue", "k8s-ep")
    assert isinstance(fetched, KubernetesOnlineDeployment)
    assert fetched.resources is not None
    assert fetched.resources.requests is not None and fetched.resources.limits is not None
    assert (fetched.resources.requests.cpu, fetched.resources.limits.memory) == ("250m", "1Gi")
    assert _limits(arm_server, "k8s-ep", "blue") == {(0.5, 1.0)}  # the pod's limits
    # No instance type, no resources: the compute's default type (Azure's 2 CPU / 2Gi) limits it.
    green = client.online_deployments.begin_create_or_update(
        _k8s_deployment(tmp_path, "green", "k8s-ep")
    ).result()
    assert (green.provisioning_state, green.resources) == ("Succeeded", None)
    assert _limits(arm_server, "k8s-ep", "green") == {(2.0, 2.0)}

    endpoint = client.online_endpoints.get("k8s-ep")
    assert isinstance(endpoint, KubernetesOnlineEndpoint)
    endpoint.traffic = {"blue": 100}
    client.online_endpoints.begin_create_or_update(endpoint).result()
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"data": [1, 5]}))
    answer = client.online_endpoints.invoke(endpoint_name="k8s-ep", request_file=str(request))
    assert json.loads(answer) == {"doubled": [2, 10]}


def test_kubernetes_endpoints_and_deployments_are_checked_against_their_compute(
    k8s_client: MLClient, tmp_path: Path
) -> None:
    client = k8s_client
    with pytest.raises(HttpResponseError, match="Compute 'k8s' is not found in workspace 'ws'"):
        client.online_endpoints.begin_create_or_update(
            KubernetesOnlineEndpoint(name="k8s-ep", compute="k8s")
        ).result()
    _attach(client, instanceTypes={"small": SMALL})
    with pytest.raises(
        HttpResponseError,
        match="AADToken auth mode is not supported for Kubernetes online endpoints",
    ):
        client.online_endpoints.begin_create_or_update(
            KubernetesOnlineEndpoint(name="k8s-ep", compute="k8s", auth_mode="aad_token")
        ).result()
    client.online_endpoints.begin_create_or_update(
        KubernetesOnlineEndpoint(name="k8s-ep", compute="k8s")
    ).result()

    with pytest.raises(
        HttpResponseError,
        match=r"Instance type 'huge' is not found in compute 'k8s'.*defaultinstancetype, small",
    ):
        client.online_deployments.begin_create_or_update(
            _k8s_deployment(tmp_path, "blue", "k8s-ep", instance_type="huge")
        ).result()
    greedy = ResourceRequirementsSettings(
        requests=ResourceSettings(cpu="2"), limits=ResourceSettings(cpu="1")
    )
    with pytest.raises(HttpResponseError, match="must be less than or equal to cpu limit of 1"):
        client.online_deployments.begin_create_or_update(
            _k8s_deployment(tmp_path, "blue", "k8s-ep", resources=greedy)
        ).result()
    managed = ManagedOnlineDeployment(
        name="green",
        endpoint_name="k8s-ep",
        model=Model(path=str(tmp_path / "model.txt")),
        instance_type="Standard_DS3_v2",
    )
    with pytest.raises(HttpResponseError, match="Use KubernetesOnlineDeployment"):
        client.online_deployments.begin_create_or_update(managed).result()
    assert list(client.online_deployments.list("k8s-ep")) == []

    # A managed endpoint stays managed: no Kubernetes deployment, no move to a cluster.
    client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="m-ep")).result()
    with pytest.raises(HttpResponseError, match="'m-ep' is a managed online endpoint"):
        client.online_deployments.begin_create_or_update(
            _k8s_deployment(tmp_path, "blue", "m-ep")
        ).result()
    with pytest.raises(HttpResponseError, match="the compute of an endpoint cannot be changed"):
        client.online_endpoints.begin_create_or_update(
            KubernetesOnlineEndpoint(name="m-ep", compute="k8s")
        ).result()


def test_aad_token_endpoints_take_entra_tokens_for_azure_ml(
    client: MLClient, tmp_path: Path
) -> None:
    created = client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="aad-ep", auth_mode="aad_token")
    ).result()
    assert created.auth_mode == "aad_token"
    token = client.online_endpoints.get_keys("aad-ep")
    assert isinstance(token, EndpointAadToken)
    claims = json.loads(base64.urlsafe_b64decode(token.access_token.split(".")[1] + "=="))
    assert claims["aud"] == "https://ml.azure.com"

    request = tmp_path / "request.json"
    request.write_text(json.dumps({"data": [1]}))
    # The token passes: the endpoint answers that it has no deployment to route to.
    with pytest.raises(ResourceNotFoundError, match="No valid deployments to route to"):
        client.online_endpoints.invoke(endpoint_name="aad-ep", request_file=str(request))

    uri = created.scoring_uri
    arm_token = DefaultAzureCredential().get_token(f"{uri.split('/inference/')[0]}/.default")
    for bearer, reason in (
        (arm_token.token, "wrong audience"),
        ("not-a-token", "not a Microsoft Entra token"),
    ):
        answer = requests.post(
            uri, json={"data": [1]}, headers={"Authorization": f"Bearer {bearer}"}
        )
        assert answer.status_code == 401
        assert reason in answer.json()["error"]["message"]
