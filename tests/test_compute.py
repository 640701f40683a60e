"""Emulated AKS compute: VM sizes, provisioning, quota, size rules, scheduling, persistence."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from emulator import AksCompute, ComputeTarget, Workspace
from emulator.compute import ProvisioningState, find_vm_size, schedule
from emulator.compute.scheduling import Node, Usage
from emulator.errors import ComputeTargetException, UserErrorException
from emulator.store.database import SCHEMA_VERSION


@pytest.fixture(autouse=True)
def fast_provisioning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_PROVISIONING_SECONDS", "0.05")
    monkeypatch.delenv("AZUREML_EMULATOR_CORE_QUOTA", raising=False)


def _create(ws: Workspace, name: str, **config: object) -> AksCompute:
    target = ComputeTarget.create(ws, name, AksCompute.provisioning_configuration(**config))  # type: ignore[arg-type]
    assert isinstance(target, AksCompute)
    return target


# -- VM sizes ------------------------------------------------------------------------------------


def test_vm_size_table() -> None:
    for name in (
        "Standard_D3_v2",
        "Standard_D2_v3",
        "Standard_DS3_v2",
        "Standard_F8s_v2",
        "Standard_NC6",
        "Standard_PB6s",
    ):
        assert find_vm_size(name) is not None, name
    d3 = find_vm_size("standard_d3_v2")  # Azure compares size names case-insensitively
    assert d3 is not None and (d3.name, d3.cores, d3.memory_gb) == ("Standard_D3_v2", 4, 14.0)
    # AKS reserves 140m CPU on 4 cores; 25/20/10 % of memory tiers plus 750 MiB for eviction.
    assert d3.allocatable_cores == 3.86
    assert 10.8 < d3.allocatable_memory_gb < 10.9
    nc6, pb6s = find_vm_size("Standard_NC6"), find_vm_size("Standard_PB6s")
    assert nc6 is not None and nc6.gpus == 1
    assert pb6s is not None and (pb6s.cores, pb6s.fpgas) == (6, 1)
    assert pb6s.offered_in("eastus") and not pb6s.offered_in("northeurope")
    assert find_vm_size("Standard_Nope") is None


# -- the seed notebook's cluster -----------------------------------------------------------------


def test_seed_dev_test_cluster(
    aml_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    from azureml.core.compute import AksCompute, ComputeTarget

    prov_config = AksCompute.provisioning_configuration(
        cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST
    )
    aks_target = ComputeTarget.create(
        workspace=aml_workspace, name="amldev-aks", provisioning_configuration=prov_config
    )
    assert aks_target.provisioning_state == "Creating"  # returns at once, like Azure
    aks_target.wait_for_completion(show_output=True)
    out = capsys.readouterr().out
    assert out.startswith("Creating")
    assert out.endswith('\nSucceededProvisioning operation finished, operation "Succeeded"\n')

    assert aks_target.provisioning_state == "Succeeded"
    assert aks_target.provisioning_errors is None
    assert (aks_target.agent_count, aks_target.agent_vm_size) == (1, "Standard_D3_v2")
    assert aks_target.cluster_purpose == "DevTest"
    assert aks_target.type == "AKS" and aks_target.get_status() == "Succeeded"
    assert aks_target.cluster_resource_id.startswith(
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/test-rg/providers/"
        "Microsoft.ContainerService/managedClusters/amldev-aks"
    )
    assert [n.name.startswith("aks-agentpool-") for n in aks_target.nodes] == [True]
    assert set(aml_workspace.compute_targets) == {"amldev-aks"}


def test_default_cluster_is_three_d3_v2_fast_prod(aml_workspace: Workspace) -> None:
    config = AksCompute.provisioning_configuration()
    assert config.agent_count is None and config.vm_size is None  # the service fills them in
    target = ComputeTarget.create(aml_workspace, "prod-aks", config)
    target.wait_for_completion()
    assert isinstance(target, AksCompute)
    assert (target.agent_count, target.agent_vm_size, target.cluster_purpose) == (
        3,
        "Standard_D3_v2",
        "FastProd",
    )
    assert target.load_balancer_type == "PublicIp"
    assert target.location == aml_workspace.location
    assert len(target.nodes) == 3 and len({n.name for n in target.nodes}) == 3
    payload = target.serialize()
    assert payload["properties"]["provisioningState"] == "Succeeded"
    assert payload["properties"]["properties"]["agentCount"] == 3
    json.dumps(payload)


def test_provisioning_is_asynchronous(
    aml_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_PROVISIONING_SECONDS", "0.4")
    target = _create(aml_workspace, "slow-aks", cluster_purpose="DevTest")
    assert target.get_status() == "Creating"
    assert target.nodes == ()
    time.sleep(0.5)
    assert ComputeTarget(aml_workspace, "slow-aks").provisioning_state == "Succeeded"


# -- lookup, list, persistence -------------------------------------------------------------------


def test_lookup_and_not_found(aml_workspace: Workspace) -> None:
    _create(aml_workspace, "one-aks", cluster_purpose="DevTest").wait_for_completion()
    found = ComputeTarget(workspace=aml_workspace, name="one-aks")
    assert type(found) is AksCompute
    assert type(AksCompute(aml_workspace, "one-aks")) is AksCompute
    with pytest.raises(ComputeTargetException) as caught:
        ComputeTarget(aml_workspace, "missing")
    assert caught.value.message.startswith(
        "ComputeTargetNotFound: Compute Target with name missing not found in provided workspace"
    )
    assert "one-aks" in caught.value.message  # the [emulator] hint lists what exists
    assert [t.name for t in ComputeTarget.list(aml_workspace)] == ["one-aks"]


def test_state_survives_workspace_objects_and_processes(
    aml_workspace: Workspace, aml_root: Path
) -> None:
    script = textwrap.dedent(
        """
        import emulator
        with emulator.mock_aml():
            from azureml.core import Workspace
            from azureml.core.compute import AksCompute, ComputeTarget
            ws = Workspace.get("test-workspace", subscription_id="00000000-0000-0000-0000-"
                               "000000000000", resource_group="test-rg")
            config = AksCompute.provisioning_configuration(cluster_purpose="DevTest")
            print(ComputeTarget.create(ws, "other-proc", config).provisioning_state)
        """
    )
    env = {**os.environ, "AZUREML_EMULATOR_ROOT": str(aml_root)}
    env["AZUREML_EMULATOR_PROVISIONING_SECONDS"] = "0.3"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Creating"
    # The creating process is gone; provisioning still completes for everyone else.
    again = Workspace.get(
        "test-workspace",
        subscription_id="00000000-0000-0000-0000-000000000000",
        resource_group="test-rg",
    )
    target = ComputeTarget(again, "other-proc")
    target.wait_for_completion()
    assert target.provisioning_state == "Succeeded"
    assert "other-proc" in aml_workspace.compute_targets


def test_schema_version_was_bumped(aml_workspace: Workspace, aml_root: Path) -> None:
    conn = sqlite3.connect(aml_root / "registry.sqlite3")
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    assert {"compute_targets", "compute_reservations"} <= tables


# -- rules answered at once ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["amlcompute", "local", "containerinstance"])
def test_reserved_names(aml_workspace: Workspace, name: str) -> None:
    with pytest.raises(UserErrorException) as caught:
        _create(aml_workspace, name)
    assert caught.value.message == (
        f"Please specify a different target name. {name} is a reserved name."
    )


@pytest.mark.parametrize("name", ["a", "1aks", "aks-", "x" * 17, "my_aks"])
def test_invalid_compute_names(aml_workspace: Workspace, name: str) -> None:
    with pytest.raises(ComputeTargetException) as caught:
        _create(aml_workspace, name, cluster_purpose="DevTest")
    message = caught.value.message
    assert message.startswith("Received bad response from Resource Provider:\nResponse Code: 400")
    assert "between 2 and 16 characters in length" in message


def test_fast_prod_needs_twelve_vcpus(aml_workspace: Workspace) -> None:
    with pytest.raises(ComputeTargetException) as caught:
        _create(aml_workspace, "small-aks", agent_count=2, vm_size="Standard_D2_v2")
    message = caught.value.message
    assert message.startswith("Received bad response from Resource Provider:\nResponse Code: 400")
    assert "must have at least 12 virtual CPUs" in message
    assert "2 x Standard_D2_v2 (2 cores) = 4 cores" in message
    assert aml_workspace.compute_targets == {}
    # DevTest allows the same small cluster; exactly 12 cores is enough for FastProd.
    _create(
        aml_workspace,
        "small-aks",
        agent_count=2,
        vm_size="Standard_D2_v2",
        cluster_purpose="DevTest",
    ).wait_for_completion()
    _create(aml_workspace, "prod-aks", agent_count=3, vm_size="Standard_D3_v2")


def test_unknown_vm_size_and_taken_name(aml_workspace: Workspace) -> None:
    with pytest.raises(ComputeTargetException, match="The VM size 'Standard_Nope' is not"):
        _create(aml_workspace, "aks", vm_size="Standard_Nope", cluster_purpose="DevTest")
    _create(aml_workspace, "aks", cluster_purpose="DevTest")
    with pytest.raises(ComputeTargetException, match="Compute with name aks already exists"):
        _create(aml_workspace, "aks", cluster_purpose="DevTest")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"agent_count": 0}, "Invalid configuration, agent count must be a positive integer."),
        ({"agent_count": -2}, "Invalid configuration, agent count must be a positive integer."),
        ({"agent_count": 1.5}, "Invalid configuration, agent count must be a positive integer."),
        (
            {"ssl_cname": "www.contoso.com"},
            "Invalid configuration, not all ssl information provided. To enable SSL validation "
            "please provide the cname, cert pem file, and key pem file.",
        ),
        (
            {"vnet_name": "vnet", "subnet_name": "default"},
            "Invalid configuration, not all virtual net information provided. To use a custom "
            "virtual net with aks, please provide vnet name, vnet resource group, subnet name, "
            "service cidr, dns service ip and docker bridge cidr",
        ),
    ],
)
def test_provisioning_configuration_validation(
    aml_workspace: Workspace, kwargs: dict[str, object], message: str
) -> None:
    config = AksCompute.provisioning_configuration(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ComputeTargetException) as caught:
        ComputeTarget.create(aml_workspace, "bad-aks", config)
    assert caught.value.message == message
    with pytest.raises(ComputeTargetException):
        config.validate_configuration()


def test_provisioning_configuration_choices(aml_workspace: Workspace) -> None:
    with pytest.raises(ComputeTargetException, match="load_balancer_type must be one of"):
        AksCompute.provisioning_configuration(load_balancer_type="Nope").validate_configuration()
    with pytest.raises(ComputeTargetException, match="cluster_purpose must be one of"):
        AksCompute.provisioning_configuration(cluster_purpose="Prod").validate_configuration()
    config = AksCompute.provisioning_configuration(load_balancer_type="InternalLoadBalancer")
    target = ComputeTarget.create(aml_workspace, "internal", config)
    assert isinstance(target, AksCompute)
    assert (target.load_balancer_type, target.load_balancer_subnet) == (
        "InternalLoadBalancer",
        "aks-subnet",
    )


# -- failures found by provisioning --------------------------------------------------------------


def test_quota_failure(aml_workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_CORE_QUOTA", "15")
    _create(aml_workspace, "dev-aks", cluster_purpose="DevTest").wait_for_completion()  # 4 cores
    target = _create(aml_workspace, "prod-aks")  # 3 x Standard_D3_v2 = 12 more cores
    assert target.provisioning_state == "Creating"
    with pytest.raises(ComputeTargetException) as caught:
        target.wait_for_completion(show_output=False)
    message = caught.value.message
    assert message.startswith(
        "Compute object provisioning polling reached non-successful terminal state, current "
        "provisioning state: Failed\nProvisioning operation error:\n"
    )
    quota = (
        "Operation results in exceeding quota limits of Core. Maximum allowed: 15, Current in "
        "use: 4, Additional requested: 12."
    )
    assert quota in message
    assert target.provisioning_state == "Failed"
    assert target.provisioning_errors is not None
    assert target.provisioning_errors[0]["error"]["code"] == "QuotaExceeded"  # type: ignore[index]
    assert quota in target.provisioning_errors[0]["error"]["message"]  # type: ignore[index]
    # A failed cluster holds nothing.
    assert aml_workspace.emulator_state.compute.cores_in_use() == 4
    # Deleting the failed target frees its name at once; a smaller cluster then fits.
    target.delete()
    _create(aml_workspace, "prod-aks", cluster_purpose="DevTest").wait_for_completion()


def test_quota_is_per_subscription(aml_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_CORE_QUOTA", "12")
    a = Workspace.create("a", subscription_id="sub-1", resource_group="rg", show_output=False)
    b = Workspace.create("b", subscription_id="sub-1", resource_group="rg2", show_output=False)
    c = Workspace.create("c", subscription_id="sub-2", resource_group="rg", show_output=False)
    _create(a, "aks-a", agent_count=2, cluster_purpose="DevTest").wait_for_completion()
    with pytest.raises(ComputeTargetException, match="Current in use: 8, Additional requested: 8"):
        _create(b, "aks-b", agent_count=2, cluster_purpose="DevTest").wait_for_completion()
    _create(c, "aks-c", agent_count=3).wait_for_completion()  # another subscription: own quota


def test_default_quota_holds_a_few_default_clusters(aml_workspace: Workspace) -> None:
    for index in range(8):  # 8 x 12 cores = 96 of 100
        _create(aml_workspace, f"prod-{index}")
    with pytest.raises(ComputeTargetException, match="Maximum allowed: 100, Current in use: 96"):
        _create(aml_workspace, "prod-8").wait_for_completion()


def test_fpga_size_outside_its_regions_fails(aml_workspace: Workspace) -> None:
    ok = _create(
        aml_workspace,
        "fpga",
        vm_size="Standard_PB6s",
        agent_count=1,
        location="eastus",
        cluster_purpose="DevTest",
    )
    ok.wait_for_completion()
    assert ok.nodes[0].fpgas == 1
    bad = _create(
        aml_workspace,
        "fpga-ne",
        vm_size="Standard_PB6s",
        agent_count=1,
        location="northeurope",
        cluster_purpose="DevTest",
    )
    with pytest.raises(ComputeTargetException, match="SkuNotAvailable"):
        bad.wait_for_completion()


def test_bad_quota_setting(aml_workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_CORE_QUOTA", "lots")
    with pytest.raises(ValueError, match="AZUREML_EMULATOR_CORE_QUOTA"):
        _create(aml_workspace, "aks", cluster_purpose="DevTest")


# -- delete, detach, attach ----------------------------------------------------------------------


def test_delete(aml_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    target = _create(aml_workspace, "gone-aks")
    target.wait_for_completion()
    assert aml_workspace.emulator_state.compute.cores_in_use() == 12
    target.delete()
    assert target.provisioning_state == "Deleting"
    assert ComputeTarget(aml_workspace, "gone-aks").provisioning_state == "Deleting"
    capsys.readouterr()
    target.wait_for_completion(show_output=True, is_delete_operation=True)
    assert capsys.readouterr().out.startswith("Deleting")
    with pytest.raises(ComputeTargetException, match="ComputeTargetNotFound"):
        ComputeTarget(aml_workspace, "gone-aks")
    assert aml_workspace.compute_targets == {}
    assert aml_workspace.emulator_state.compute.cores_in_use() == 0
    _create(aml_workspace, "gone-aks").wait_for_completion()  # the name is free again


def test_detach_and_attach(aml_workspace: Workspace) -> None:
    original = _create(aml_workspace, "first", cluster_purpose="DevTest")
    original.wait_for_completion()
    resource_id = original.cluster_resource_id
    original.detach()
    assert aml_workspace.compute_targets == {}
    # The cluster itself still exists.
    assert aml_workspace.emulator_state.compute.cores_in_use() == 4

    config = AksCompute.attach_configuration(resource_id=resource_id, cluster_purpose="DevTest")
    attached = ComputeTarget.attach(aml_workspace, "second", config)
    assert attached.provisioning_state == "Creating"
    attached.wait_for_completion()
    assert attached.is_attached and attached.cluster_resource_id == resource_id
    assert list(aml_workspace.compute_targets) == ["second"]

    attached.detach()
    parts = resource_id.split("/")
    by_name = AksCompute.attach_configuration(resource_group=parts[4], cluster_name=parts[8])
    # A 4-core cluster cannot be attached for production use.
    with pytest.raises(ComputeTargetException, match="at least 12 virtual CPUs"):
        ComputeTarget.attach(aml_workspace, "third", by_name)
    by_name.cluster_purpose = AksCompute.ClusterPurpose.DEV_TEST
    ComputeTarget.attach(aml_workspace, "third", by_name).wait_for_completion()


def test_attach_unknown_cluster(aml_workspace: Workspace) -> None:
    config = AksCompute.attach_configuration(resource_group="rg", cluster_name="nope")
    with pytest.raises(ComputeTargetException) as caught:
        ComputeTarget.attach(aml_workspace, "nope", config)
    assert "Response Code: 404" in caught.value.message
    assert "managedClusters/nope' under resource group 'rg' was not found" in caught.value.message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {},
            "Please provide resource_group and cluster_name for the AKS compute resource being "
            "attached. Or please provide resource_id for the resource being attached.",
        ),
        ({"cluster_name": "c"}, "resource_group is not provided."),
        ({"resource_group": "rg"}, "cluster_name is not provided."),
        ({"resource_id": "/subscriptions/s"}, "Invalid resource_id provided: /subscriptions/s"),
        (
            {"resource_id": "/subscriptions/s/resourcegroups/rg/providers/Microsoft.Compute/vm/x"},
            "Invalid resource_id provided, resource type Microsoft.Compute does not match for AKS",
        ),
        (
            {
                "resource_id": "/subscriptions/s/resourcegroups/rg/providers/"
                "Microsoft.ContainerService/managedClusters/x",
                "cluster_name": "x",
            },
            "Since resource_id is provided, please do not provide cluster_name.",
        ),
    ],
)
def test_attach_configuration_validation(
    aml_workspace: Workspace, kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(ComputeTargetException) as caught:
        ComputeTarget.attach(aml_workspace, "x-aks", AksCompute.attach_configuration(**kwargs))
    assert caught.value.message == message


# -- scheduling ----------------------------------------------------------------------------------


def _nodes(count: int, size: str = "Standard_D3_v2") -> list[Node]:
    vm = find_vm_size(size)
    assert vm is not None
    return [
        Node(
            f"node-{i}",
            vm.name,
            vm.cores,
            vm.memory_gb,
            vm.allocatable_cores,
            vm.allocatable_memory_gb,
            vm.gpus,
            vm.fpgas,
        )
        for i in range(count)
    ]


def test_schedule_spreads_replicas() -> None:
    placement = schedule(_nodes(3), replicas=3, cpu_cores=1, memory_gb=1)
    assert placement.fits and placement.state is None and placement.reason is None
    assert sorted(placement.nodes) == ["node-0", "node-1", "node-2"]
    # Three 1-core pods per 3.86-core node: nine fit, the tenth does not.
    assert schedule(_nodes(3), replicas=9, cpu_cores=1, memory_gb=1).fits
    tenth = schedule(_nodes(3), replicas=10, cpu_cores=1, memory_gb=1)
    assert (tenth.fits, tenth.state, len(tenth.nodes)) == (False, "Unschedulable", 9)
    assert tenth.reason == "0/3 nodes are available: 3 Insufficient cpu."


def test_unschedulable_reasons() -> None:
    nodes = _nodes(3)
    assert (
        schedule(nodes, 1, cpu_cores=4, memory_gb=1).reason
        == "0/3 nodes are available: 3 Insufficient cpu."
    )
    assert (
        schedule(nodes, 1, cpu_cores=4, memory_gb=16).reason
        == "0/3 nodes are available: 3 Insufficient cpu, 3 Insufficient memory."
    )
    assert (
        schedule(nodes, 1, cpu_cores=0.1, memory_gb=0.5, gpu_cores=1).reason
        == "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
    )
    used = {"node-0": Usage(cpu_cores=3.5)}
    assert (
        schedule(nodes[:2], 2, cpu_cores=2, memory_gb=1, used=used).reason
        == "0/2 nodes are available: 2 Insufficient cpu."
    )
    assert schedule([], 1, 0.1, 0.5).reason == "no nodes available to schedule pods"
    assert schedule(_nodes(1, "Standard_NC6"), 1, 1, 1, gpu_cores=1).fits
    fpga = schedule(_nodes(1), 1, 1, 1, fpgas=1)
    assert fpga.reason == "0/1 nodes are available: 1 Insufficient microsoft.com/fpga_catapult."


def test_cluster_reservations_are_shared_by_services(aml_workspace: Workspace) -> None:
    _create(aml_workspace, "shared", cluster_purpose="DevTest").wait_for_completion()
    registry = aml_workspace.emulator_state.compute
    assert registry.schedule("shared", 3, cpu_cores=1, memory_gb=1).fits
    assert registry.reserve("shared", "svc-a", 2, cpu_cores=1, memory_gb=1).fits
    # svc-b sees svc-a's pods: only one more 1-core pod fits on the 3.86-core node.
    refused = registry.reserve("shared", "svc-b", 2, cpu_cores=1, memory_gb=1)
    assert refused.reason == "0/1 nodes are available: 1 Insufficient cpu."
    assert registry.reservations("shared") == {"svc-a": refused.nodes[:1] * 2}
    # An owner's new reservation replaces its old one (e.g. an update or a scale change).
    assert registry.reserve("shared", "svc-a", 3, cpu_cores=1, memory_gb=1).fits
    assert registry.schedule("shared", 3, 1, 1, owner="svc-a").fits
    registry.release("shared", "svc-a")
    assert registry.reserve("shared", "svc-b", 3, cpu_cores=1, memory_gb=1).fits
    assert list(registry.reservations("shared")) == ["svc-b"]
    # Reservations go with the cluster.
    ComputeTarget(aml_workspace, "shared").delete()
    assert registry.reservations("shared") == {}


def test_a_cluster_still_creating_has_no_nodes(
    aml_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_PROVISIONING_SECONDS", "30")
    target = _create(aml_workspace, "later", cluster_purpose="DevTest")
    assert aml_workspace.emulator_state.compute.get("later").state is ProvisioningState.CREATING  # type: ignore[union-attr]
    assert not aml_workspace.emulator_state.compute.schedule("later", 1, 0.1, 0.5).fits
    target.delete()
