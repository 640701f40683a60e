"""What an online deployment's instances get, through the real ``azure-ai-ml`` client:
``instance_count`` replicas, the CPU and memory of ``instance_type``'s VM size as their limits,
Azure's liveness and readiness probe timings, App Insights' variables; an unknown size, a bad
count and a core quota overrun are refused as Azure refuses them; a bad conda spec fails with
the build log."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from azure.ai.ml import MLClient
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    KubernetesCompute,
    KubernetesOnlineDeployment,
    KubernetesOnlineEndpoint,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    ProbeSettings,
    ResourceRequirementsSettings,
    ResourceSettings,
    TargetUtilizationScaleSettings,
)
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential

from emulator.compute.vm_sizes import VM_SIZES
from emulator.daemon.server import EmulatorServer
from emulator.runtime.container import Container
from emulator.services.online import online
from emulator.settings import BUILDER_ENV, CORE_QUOTA_ENV
from emulator.state import workspace_states

SUB = "11111111-2222-3333-4444-555555555555"

SCORE = """
import os

def init():
    print("insights", os.environ.get("AML_APP_INSIGHTS_ENABLED"))

def run(raw):
    return {"pid": os.getpid()}
"""


@pytest.fixture
def client(
    arm_server: EmulatorServer, v2_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> MLClient:
    monkeypatch.setenv(BUILDER_ENV, "host")  # replicas run on this interpreter: no installs
    ml_client = MLClient(DefaultAzureCredential(), SUB, "rg", "ws")
    ml_client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="ep-size")
    ).result()
    return ml_client


def _deployment(tmp_path: Path, name: str = "blue", **fields: object) -> ManagedOnlineDeployment:
    (tmp_path / "model.txt").write_text("weights")
    code = tmp_path / "src"
    code.mkdir(exist_ok=True)
    (code / "score.py").write_text(SCORE)
    settings: dict[str, object] = {
        "instance_type": "Standard_DS3_v2",
        "instance_count": 1,
        "environment": Environment(image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"),
    }
    settings.update(fields)
    return ManagedOnlineDeployment(
        name=name,
        endpoint_name="ep-size",
        model=Model(path=str(tmp_path / "model.txt")),
        code_configuration=CodeConfiguration(code=str(code), scoring_script="score.py"),
        **settings,  # type: ignore[arg-type]
    )


def _containers(server: EmulatorServer, name: str) -> list[Container]:
    """The replicas of deployment ``name`` that ``server`` runs (not other tests' servers)."""
    state = workspace_states(server.root).get(SUB, "rg", "ws")
    live = None if state is None else online(server.root.path, state.id, "ep-size", name)
    return [] if live is None else live.containers()


def test_instances_get_the_count_the_vm_size_the_probes_and_app_insights(
    client: MLClient, tmp_path: Path, arm_server: EmulatorServer
) -> None:
    probe = ProbeSettings(initial_delay=30, period=5, timeout=3, failure_threshold=4)
    created = client.online_deployments.begin_create_or_update(
        _deployment(
            tmp_path,
            instance_type="Standard_F4s_v2",
            instance_count=2,
            liveness_probe=probe,
            readiness_probe=ProbeSettings(period=3, failure_threshold=2),
            app_insights_enabled=True,
        )
    ).result()
    assert (created.provisioning_state, created.instance_count) == ("Succeeded", 2)
    containers = _containers(arm_server, "blue")
    assert len(containers) == 2
    size = VM_SIZES["Standard_F4s_v2"]
    for container in containers:
        config = container.config
        assert (config.cpu_cores, config.memory_gb) == (
            size.allocatable_cores,
            size.allocatable_memory_gb,
        )
        liveness = config.liveness
        assert (liveness.initial_delay_seconds, liveness.period_seconds) == (30, 5)
        assert (liveness.timeout_seconds, liveness.failure_threshold) == (3, 4)
        readiness = config.readiness
        assert readiness is not None  # Azure's defaults where the probe leaves them out
        assert (readiness.period_seconds, readiness.failure_threshold) == (3, 2)
        assert (readiness.initial_delay_seconds, readiness.timeout_seconds) == (10, 2)
        assert config.environment["AML_APP_INSIGHTS_ENABLED"] == "true"
    assert "insights true" in client.online_deployments.get_logs("blue", "ep-size", lines=100)

    endpoint = client.online_endpoints.get("ep-size")
    endpoint.traffic = {"blue": 100}
    client.online_endpoints.begin_create_or_update(endpoint).result()
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"data": []}))
    pids = {
        json.loads(
            client.online_endpoints.invoke(endpoint_name="ep-size", request_file=str(request))
        )["pid"]
        for _ in range(12)
    }
    assert len(pids) == 2  # both instances take requests


def test_an_unknown_instance_type_is_refused_before_anything_is_stored(
    client: MLClient, tmp_path: Path
) -> None:
    with pytest.raises(HttpResponseError) as refused:
        client.online_deployments.begin_create_or_update(
            _deployment(tmp_path, instance_type="Standard_Imaginary_v9")
        )
    assert refused.value.status_code == 400
    assert "instance type 'Standard_Imaginary_v9' is not supported" in str(refused.value)
    assert "Standard_DS3_v2" in str(refused.value)  # the known sizes are listed
    assert list(client.online_deployments.list("ep-size")) == []


def test_a_deployment_beyond_the_core_quota_fails_with_out_of_quota(
    client: MLClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arm_server: EmulatorServer
) -> None:
    # DS3_v2 has 4 cores; 2 instances hold ceil(1.2 x 2) x 4 = 12 cores with Azure's reserve.
    monkeypatch.setenv(CORE_QUOTA_ENV, "16")
    client.online_deployments.begin_create_or_update(
        _deployment(tmp_path, "blue", instance_count=2)
    ).result()
    with pytest.raises(HttpResponseError) as failed:
        client.online_deployments.begin_create_or_update(
            _deployment(tmp_path, "green", instance_count=1)
        ).result()
    message = str(failed.value)
    assert "Not enough quota available for Standard_DS3_v2" in message
    assert "Current usage/limit: 12/16. Additional needed: 8" in message
    assert client.online_deployments.get("green", "ep-size").provisioning_state == "Failed"
    assert _containers(arm_server, "green") == []
    # scaling blue down frees cores: green then fits (12 -> 8, 8 + 8 <= 16)
    client.online_deployments.begin_create_or_update(
        _deployment(tmp_path, "blue", instance_count=1)
    ).result()
    green = client.online_deployments.begin_create_or_update(
        _deployment(tmp_path, "green", instance_count=1)
    ).result()
    assert green.provisioning_state == "Succeeded"


def test_a_bad_conda_spec_fails_the_deployment_with_the_build_log(
    client: MLClient, tmp_path: Path
) -> None:
    conda = tmp_path / "conda.yml"
    conda.write_text(
        "name: scoring\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n"
        "    - amlemu-no-such-package==1.0\n"
    )
    environment = Environment(
        image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu", conda_file=str(conda)
    )
    with pytest.raises(HttpResponseError) as failed:
        client.online_deployments.begin_create_or_update(
            _deployment(tmp_path, environment=environment)
        ).result()
    message = str(failed.value)
    assert "ImageBuildFailure" in message
    assert "amlemu-no-such-package" in message  # the build log's tail names the problem
    assert client.online_deployments.get("blue", "ep-size").provisioning_state == "Failed"


def test_target_utilization_runs_a_kubernetes_deployment_at_its_minimum_or_more(
    client: MLClient, tmp_path: Path, arm_server: EmulatorServer
) -> None:
    cluster = (
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/"
        "managedClusters/aks"
    )
    client.compute.begin_create_or_update(
        KubernetesCompute(name="k8s", resource_id=cluster, namespace="azureml")
    ).result()
    client.online_endpoints.begin_create_or_update(
        KubernetesOnlineEndpoint(name="ep-k8s", compute="k8s")
    ).result()
    code = tmp_path / "src"
    code.mkdir()
    (code / "score.py").write_text(SCORE)
    (tmp_path / "model.txt").write_text("weights")

    def deployment(scale: TargetUtilizationScaleSettings) -> KubernetesOnlineDeployment:
        return KubernetesOnlineDeployment(
            name="blue",
            endpoint_name="ep-k8s",
            model=Model(path=str(tmp_path / "model.txt")),
            code_configuration=CodeConfiguration(code=str(code), scoring_script="score.py"),
            environment=Environment(image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"),
            instance_count=1,
            scale_settings=scale,
            resources=ResourceRequirementsSettings(  # azure-ai-ml reads them back
                requests=ResourceSettings(cpu="250m", memory="512Mi")
            ),
        )

    inverted = TargetUtilizationScaleSettings(min_instances=3, max_instances=2)
    with pytest.raises(HttpResponseError, match=r"max_instances \(2\) is below"):
        client.online_deployments.begin_create_or_update(deployment(inverted))
    scaled = TargetUtilizationScaleSettings(
        min_instances=2, max_instances=3, polling_interval=1, target_utilization_percentage=70
    )
    created = client.online_deployments.begin_create_or_update(deployment(scaled)).result()
    assert created.provisioning_state == "Succeeded"
    state = workspace_states(arm_server.root).get(SUB, "rg", "ws")
    assert state is not None
    live = online(arm_server.root.path, state.id, "ep-k8s", "blue")
    assert live is not None
    # min_instances > instance_count: two replicas (a replica the probes restart under a loaded
    # machine is briefly out of the list, so the count is awaited)
    deadline = time.monotonic() + 60
    while len(live.containers()) != 2:
        assert time.monotonic() < deadline, f"{len(live.containers())} replicas, not 2"
        time.sleep(0.1)
    assert (live.settings.autoscale_min_replicas, live.settings.autoscale_max_replicas) == (2, 3)
