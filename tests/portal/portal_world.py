"""The workspace the portal tests look at: a registered model, an image that failed to build
(a conda-only package with the host builder), a cluster that failed to provision (core quota
of 1), a one-node AKS cluster and a healthy autoscaled AKS service with key auth."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from emulator import (
    AksCompute,
    AksWebservice,
    ComputeTarget,
    CondaDependencies,
    ContainerImage,
    Image,
    Model,
    Webservice,
    Workspace,
)
from emulator.errors import ComputeTargetException, WebserviceException

REPO = Path(__file__).resolve().parents[2]
SCRIPT = "score_echo.py"
MODEL = "portal-model"


@dataclass(frozen=True)
class World:
    root: Path
    workdir: Path
    workspace: Workspace
    model: Model
    image: Image
    failed_image: Image
    failed_compute: ComputeTarget
    cluster: ComputeTarget
    service: Webservice


@contextmanager
def portal_world(root: Path, workdir: Path) -> Iterator[World]:
    """Build the world under ``root`` (environment set for this process while it lasts)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AZUREML_EMULATOR_ROOT", str(root))
        patch.setenv("AZUREML_EMULATOR_BUILDER", "host")
        patch.setenv("AZUREML_EMULATOR_PROVISIONING_SECONDS", "0")
        patch.setenv("AZUREML_EMULATOR_CORE_QUOTA", "1")
        patch.chdir(workdir)
        shutil.copy(REPO / "fixtures" / "scoring" / SCRIPT, workdir / SCRIPT)
        ws = Workspace.create("portal-ws", subscription_id="sub", resource_group="rg")
        (workdir / "model.pkl").write_bytes(b"weights")
        model = Model.register(
            ws, "model.pkl", MODEL, tags={"area": "portal"}, properties={"stage": "test"}
        )
        image = Image.create(
            ws, "echo-img", [model], ContainerImage.image_configuration(SCRIPT, "python")
        )
        image.wait_for_creation()
        CondaDependencies.create(conda_packages=["cudatoolkit"]).save("gpu.yml")
        failed_image = Image.create(
            ws,
            "gpu-img",
            [model],
            ContainerImage.image_configuration(SCRIPT, "python", conda_file="gpu.yml"),
        )
        with pytest.raises(WebserviceException):
            failed_image.wait_for_creation()
        failed_compute = ComputeTarget.create(
            ws, "aks-quota", AksCompute.provisioning_configuration()
        )
        with pytest.raises(ComputeTargetException):
            failed_compute.wait_for_completion()
        cluster = ComputeTarget.create(
            ws,
            "aks-dev",
            AksCompute.provisioning_configuration(
                agent_count=1,
                vm_size="Standard_D1_v2",
                cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST,
            ),
        )
        cluster.wait_for_completion()
        config = AksWebservice.deploy_configuration(
            autoscale_enabled=True, autoscale_max_replicas=2, cpu_cores=0.1, memory_gb=0.2
        )
        service = Webservice.deploy_from_image(ws, "echo-aks", image, config, cluster)
        service.wait_for_deployment()
        try:
            yield World(
                root, workdir, ws, model, image, failed_image, failed_compute, cluster, service
            )
        finally:
            service.delete()
