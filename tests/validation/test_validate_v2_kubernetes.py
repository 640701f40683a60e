"""``amlemu validate --deployment`` on Kubernetes online deployments: the limits are the
deployment's ``resources``, else its instance type's as the endpoint's attached compute
defines it (Azure's ``defaultinstancetype`` when none is named)."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from emulator.cli.main import main
from emulator.compute.kubernetes import KubernetesComputes, KubernetesSpec
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceStore
from emulator.validation.target import CannotValidate
from emulator.validation.v2_limits import kubernetes_limits
from emulator.validation.v2_target import load_deployment

PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"
CLUSTER = (
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c"
)
DEPLOYMENT = """
$schema: https://azuremlschemas.azureedge.net/latest/kubernetesOnlineDeployment.schema.json
name: blue
endpoint_name: k8s-ep
type: kubernetes
model:
  path: ./model.json
code_configuration:
  code: ./src
  scoring_script: score.py
environment:
  conda_file: ./conda.yml
  image: mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu-inference:latest
instance_count: 1
"""
SCRIPT = """
import json, os

def init():
    global model
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.json")) as handle:
        model = json.load(handle)

def run(raw):
    return model
"""


def _project(folder: Path, extra: str = "") -> Path:
    (folder / "src").mkdir(exist_ok=True)
    (folder / "src" / "score.py").write_text(SCRIPT)
    (folder / "model.json").write_text('{"answer": 42}')
    (folder / "conda.yml").write_text(f"dependencies:\n- python={PYTHON}\n")
    path = folder / "blue.yml"
    path.write_text(DEPLOYMENT + textwrap.dedent(extra))
    return path


def test_the_instance_type_of_the_endpoints_compute_sets_the_memory_limit(
    aml_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 10Mi instance type: the script's process alone needs more (a bare interpreter with its
    site packages is over 13 MiB resident), as the kubelet would find."""
    root = EmulatorRoot(aml_root)
    workspace, _ = WorkspaceStore(root).create("sub", "rg", "ws")
    tiny = {"resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1", "memory": "10Mi"}}}
    KubernetesComputes(root, workspace).attach(
        "k8s", KubernetesSpec(CLUSTER, instance_types={"tiny": tiny})
    )
    path = _project(tmp_path, "instance_type: tiny\n")
    endpoint = tmp_path / "endpoint.yml"
    endpoint.write_text("name: k8s-ep\ncompute: azureml:k8s\nauth_mode: key\n")
    args = ["--deployment", str(path), "--endpoint", str(endpoint), "-w", "ws"]
    code = main(["validate", *args, "--format", "json", "--builder", "host"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["limits"]["target"] == "kubernetes"
    assert (report["limits"]["cpuCores"], report["limits"]["instanceType"]) == (1.0, "tiny")
    (memory,) = [f for f in report["findings"] if f["id"] == "AML070"]
    assert "of the memory of the instance type tiny (0.01 GB)" in memory["message"]
    assert (
        memory["hint"]
        == "Raise the memory limit of the instance type tiny, or load less in init()."
    )

    path.write_text(DEPLOYMENT + "instance_type: huge\n")
    code = main(["validate", *args])
    assert code == 2
    assert (
        "instance_type 'huge' is not an instance type of the endpoint's compute (it has "
        "defaultinstancetype, tiny): pick one of them." in capsys.readouterr().err
    )


def test_without_an_instance_type_azures_default_one_applies(tmp_path: Path) -> None:
    limits = kubernetes_limits(load_deployment(_project(tmp_path)))
    assert (limits.cpu_cores, limits.memory_gb, limits.instance_type) == (
        2.0,
        2.0,
        "defaultinstancetype",
    )


def test_the_deployments_own_resources_win(tmp_path: Path) -> None:
    resources = "resources:\n  requests: {cpu: 500m, memory: 512Mi}\n  limits: {memory: 1Gi}\n"
    limits = kubernetes_limits(load_deployment(_project(tmp_path, resources)))
    assert (limits.cpu_cores, limits.memory_gb) == (0.5, 1.0)  # no CPU limit: the request

    bad = "resources:\n  requests: {memory: 2Gi}\n  limits: {memory: 1Gi}\n"
    with pytest.raises(CannotValidate, match="must be less than or equal to memory limit of 1Gi"):
        kubernetes_limits(load_deployment(_project(tmp_path, bad)))


def test_a_cluster_instance_type_needs_the_endpoint(tmp_path: Path) -> None:
    deployment = load_deployment(_project(tmp_path, "instance_type: gpu-large\n"))
    with pytest.raises(CannotValidate, match=r"pass --endpoint endpoint\.yml"):
        kubernetes_limits(deployment)


def test_resources_on_a_managed_deployment_are_refused(tmp_path: Path) -> None:
    managed = DEPLOYMENT.replace("type: kubernetes", "type: managed").replace(
        "kubernetesOnlineDeployment", "managedOnlineDeployment"
    )
    path = tmp_path / "managed.yml"
    _project(tmp_path)
    path.write_text(managed + "instance_type: Standard_DS2_v2\nresources: {limits: {cpu: '1'}}\n")
    with pytest.raises(CannotValidate, match="resources is a Kubernetes deployment's key"):
        load_deployment(path)


def test_a_managed_deployment_on_a_kubernetes_endpoint_is_refused(tmp_path: Path) -> None:
    from emulator.validation.v2_target import check_endpoint

    managed = DEPLOYMENT.replace("type: kubernetes", "type: managed")
    path = tmp_path / "managed.yml"
    _project(tmp_path)
    path.write_text(managed + "instance_type: Standard_DS2_v2\n")
    endpoint = tmp_path / "endpoint.yml"
    endpoint.write_text("name: k8s-ep\ncompute: azureml:k8s\n")
    with pytest.raises(CannotValidate, match="set the deployment's type to kubernetes"):
        check_endpoint(endpoint, load_deployment(path))
    endpoint.write_text("name: K8S-EP\ncompute: azureml:k8s\nauth_mode: aad_token\n")
    with pytest.raises(CannotValidate, match="AADToken auth mode is not supported for Kube"):
        check_endpoint(endpoint, load_deployment(_project(tmp_path)))
    endpoint.write_text("name: K8S-EP\ncompute: azureml:k8s\nauth_mode: aml_token\n")
    assert check_endpoint(endpoint, load_deployment(_project(tmp_path))) == "k8s"
