"""Kubernetes computes and Kubernetes online endpoints through the real ``azure-ai-ml`` client:
attach a cluster with instance types, list/get/detach it, create an endpoint on it and a
deployment that picks an instance type, invoke it; and the ``aad_token`` auth mode."""

from __future__ import annotations

import pytest
from azure.ai.ml import MLClient
from azure.ai.ml.entities import KubernetesCompute
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential

from emulator import AksCompute, ComputeTarget, Workspace
from emulator.daemon.server import EmulatorServer

SUB = "11111111-2222-3333-4444-555555555555"
CLUSTER = (
    f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/"
    "managedClusters/aks-prod"
)
SMALL = {"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1"}}}


@pytest.fixture
def client(arm_server: EmulatorServer, v2_env: dict[str, str]) -> MLClient:
    return MLClient(DefaultAzureCredential(), SUB, "rg", "ws")


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
