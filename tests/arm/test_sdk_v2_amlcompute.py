"""AmlCompute clusters through the real ``azure-ai-ml`` client: create, get, list, update,
delete; VM sizes from the emulator's table; Azure's errors for an unknown size, bad scale
settings and the subscription's core quota; the allocation Azure reports (the minimum nodes,
idle)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from azure.ai.ml import MLClient
from azure.ai.ml.entities import AmlCompute, KubernetesCompute
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential

from emulator.daemon.server import EmulatorServer
from emulator.settings import CORE_QUOTA_ENV

SUB = "11111111-2222-3333-4444-555555555555"
WS = (
    f"/subscriptions/{SUB}/resourceGroups/rg/providers/"
    "Microsoft.MachineLearningServices/workspaces/ws"
)


@pytest.fixture
def client(arm_server: EmulatorServer, v2_env: dict[str, str]) -> MLClient:
    return MLClient(DefaultAzureCredential(), SUB, "rg", "ws")


def _create(client: MLClient, name: str = "cpu-cluster", **settings: Any) -> AmlCompute:
    settings.setdefault("size", "Standard_DS3_v2")
    settings.setdefault("max_instances", 4)
    created = client.compute.begin_create_or_update(AmlCompute(name=name, **settings)).result()
    assert isinstance(created, AmlCompute)
    return created


def _rest(server: EmulatorServer, name: str) -> dict[str, Any]:
    """The compute as ARM answers it (what ``az rest`` and the portal read)."""
    token = DefaultAzureCredential().get_token(f"{server.base_url}/.default").token
    answer = requests.get(
        f"{server.base_url}{WS}/computes/{name}",
        params={"api-version": "2023-08-01-preview"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


def test_a_cluster_is_created_read_listed_and_deleted(client: MLClient) -> None:
    created = _create(client, min_instances=0, max_instances=4, idle_time_before_scale_down=300)
    assert created.provisioning_state == "Succeeded"
    assert (created.size, created.min_instances, created.max_instances) == (
        "Standard_DS3_v2",
        0,
        4,
    )
    assert created.idle_time_before_scale_down == 300
    fetched = client.compute.get("cpu-cluster")
    assert isinstance(fetched, AmlCompute)
    assert (fetched.type, fetched.tier, fetched.location) == ("amlcompute", "dedicated", "eastus")
    assert str(fetched.id).endswith("/workspaces/ws/computes/cpu-cluster")
    assert [c.name for c in client.compute.list() if isinstance(c, AmlCompute)] == ["cpu-cluster"]

    client.compute.begin_delete("cpu-cluster").result()
    with pytest.raises(ResourceNotFoundError, match="cpu-cluster"):
        client.compute.get("cpu-cluster")
    assert list(client.compute.list()) == []


def test_the_minimum_nodes_are_allocated_and_idle(
    client: MLClient, arm_server: EmulatorServer
) -> None:
    _create(client, min_instances=2, max_instances=4)
    settings = _rest(arm_server, "cpu-cluster")["properties"]["properties"]
    assert settings["currentNodeCount"] == settings["targetNodeCount"] == 2
    assert settings["allocationState"] == "Steady"
    assert settings["nodeStateCounts"]["idleNodeCount"] == 2
    assert settings["nodeStateCounts"]["runningNodeCount"] == 0
    assert settings["scaleSettings"] == {
        "minNodeCount": 2,
        "maxNodeCount": 4,
        "nodeIdleTimeBeforeScaleDown": "PT2M",
    }


def test_scale_settings_are_updated_but_the_vm_size_is_not(client: MLClient) -> None:
    _create(client, max_instances=2, description="first")
    _create(client, max_instances=6, description="second", tags={"team": "ml"})
    fetched = client.compute.get("cpu-cluster")
    assert (fetched.max_instances, fetched.description, fetched.tags) == (
        6,
        "second",
        {"team": "ml"},
    )
    with pytest.raises(HttpResponseError, match="VM size of an AmlCompute cluster cannot be"):
        _create(client, size="Standard_D4_v3")


def test_an_unknown_vm_size_is_refused_naming_the_known_ones(client: MLClient) -> None:
    with pytest.raises(HttpResponseError) as raised:
        _create(client, size="Standard_Imaginary_v9")
    assert raised.value.status_code == 400
    assert "The VM size 'Standard_Imaginary_v9' is not supported" in str(raised.value)
    assert "Standard_DS3_v2" in str(raised.value)  # the sizes the emulator knows
    assert list(client.compute.list()) == []


def test_vm_sizes_are_matched_case_insensitively_and_stored_as_azure_names_them(
    client: MLClient,
) -> None:
    created = _create(client, size="standard_nc6s_v3", tier="low_priority")
    assert (created.size, created.tier) == ("Standard_NC6s_v3", "low_priority")


def test_a_minimum_above_the_maximum_is_refused(client: MLClient) -> None:
    with pytest.raises(HttpResponseError, match=r"minNodeCount \(5\) must be less than or equal"):
        _create(client, min_instances=5, max_instances=2)


def test_allocated_nodes_count_against_the_subscriptions_core_quota(
    client: MLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CORE_QUOTA_ENV, "8")
    _create(client, "first", min_instances=2)  # 2 x 4 vCPUs: the whole quota
    _create(client, "elastic", min_instances=0, max_instances=100)  # nothing allocated at rest
    _create(client, "spot", min_instances=4, tier="low_priority")  # not dedicated cores
    with pytest.raises(HttpResponseError) as raised:
        _create(client, "second", min_instances=1)
    assert raised.value.status_code == 400
    assert (
        "Operation results in exceeding quota limits of Core. Maximum allowed: 8, Current in "
        "use: 8, Additional requested: 4."
    ) in str(raised.value)
    assert CORE_QUOTA_ENV in str(raised.value)

    client.compute.begin_delete("first").result()
    assert _create(client, "second", min_instances=1).min_instances == 1


def test_names_are_shared_with_kubernetes_computes(client: MLClient) -> None:
    cluster = (
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/"
        "managedClusters/aks"
    )
    client.compute.begin_create_or_update(
        KubernetesCompute(name="k8s", resource_id=cluster, namespace="azureml")
    ).result()
    with pytest.raises(HttpResponseError) as raised:
        _create(client, "k8s")
    assert raised.value.status_code == 409
    assert "it is an attached Kubernetes compute" in str(raised.value)

    _create(client, "cpu-cluster")
    with pytest.raises(HttpResponseError) as raised:
        client.compute.begin_create_or_update(
            KubernetesCompute(name="cpu-cluster", resource_id=cluster, namespace="azureml")
        ).result()
    assert raised.value.status_code == 409
    kinds = {c.name: type(c).__name__ for c in client.compute.list()}
    assert kinds == {"cpu-cluster": "AmlCompute", "k8s": "KubernetesCompute"}


def test_a_cluster_cannot_be_detached_only_deleted(client: MLClient) -> None:
    _create(client)
    with pytest.raises(HttpResponseError, match="cannot be detached, only deleted"):
        client.compute.begin_delete("cpu-cluster", action="Detach").result()
    assert client.compute.get("cpu-cluster").name == "cpu-cluster"


def test_list_nodes_shows_the_allocated_nodes_idle(client: MLClient) -> None:
    _create(client, min_instances=2)
    # azure-ai-ml 1.35.2 copies the wire's camelCase names onto its AmlComputeNodeInfo
    # (node.nodeState; node.node_state stays None): read them as the client exposes them.
    nodes = [vars(n) for n in client.compute.list_nodes("cpu-cluster")]
    assert [n["nodeState"] for n in nodes] == ["idle", "idle"]
    assert len({n["nodeId"] for n in nodes}) == 2
    assert all(n["nodeId"].endswith("_d") and n.get("runId") is None for n in nodes)
    _create(client, "elastic", min_instances=0)
    assert list(client.compute.list_nodes("elastic")) == []


def test_fpga_sizes_are_refused_for_clusters(client: MLClient) -> None:
    with pytest.raises(HttpResponseError, match="not supported for compute type AmlCompute"):
        _create(client, size="Standard_PB6s")


def test_list_sizes_is_the_emulators_table_with_azures_families(client: MLClient) -> None:
    sizes = {s.name: s for s in client.compute.list_sizes()}
    assert {"Standard_DS3_v2", "Standard_PB6s"} <= set(sizes)  # every type's, in eastus
    ds3 = vars(sizes["Standard_DS3_v2"])  # camelCase attributes, as the client copies them
    assert (ds3["family"], ds3["vCPUs"], ds3["memoryGB"], ds3["gpus"]) == (
        "standardDSv2Family",
        4,
        14,
        0,
    )
    assert vars(sizes["Standard_NC6s_v3"])["family"] == "standardNCSv3Family"
    for_clusters = {s.name for s in client.compute.list_sizes(compute_type="amlcompute")}
    assert "Standard_DS3_v2" in for_clusters and "Standard_PB6s" not in for_clusters


def test_list_usage_counts_the_allocated_dedicated_cores_per_family(
    client: MLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CORE_QUOTA_ENV, "40")
    _create(client, "ds3", min_instances=2)  # 2 x Standard_DS3_v2 (4 vCPUs)
    _create(client, "d4s", size="Standard_D4s_v3", min_instances=1)  # 4 vCPUs
    _create(client, "spot", size="Standard_DS2_v2", min_instances=3, tier="low_priority")
    usages = {u["name"]["value"]: u for u in map(vars, client.compute.list_usage())}
    assert usages["standardDSv2Family"]["currentValue"] == 8
    assert usages["standardDSv3Family"]["currentValue"] == 4
    total = usages["Total Cluster Dedicated Regional vCPUs"]
    assert (total["currentValue"], total["limit"], total["unit"]) == (12, 40, "Count")
