"""The operator CLI's tests: a workspace shaped like the seed's troubleshooting section, and a
runner for ``python -m emulator`` in a separate process (as a user's terminal would be).

The :func:`world` fixture is built once per test module (its own emulator root): a registered
model, an image that failed to build (a conda-only package), an AKS cluster that failed to
provision (core quota), a one-node AKS cluster, and two healthy services hosted by this test
process: ACI with key auth, and AKS with autoscaling.
Tests only read it; tests that change things make their own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cli_harness import MODEL_NAME, World, amlemu, build_image, register_model  # noqa: F401

from emulator import (
    AciWebservice,
    AksCompute,
    AksWebservice,
    ComputeTarget,
    CondaDependencies,
    ContainerImage,
    Image,
    Webservice,
    Workspace,
)
from emulator.errors import ComputeTargetException, WebserviceException


@pytest.fixture
def fast_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Host-builder images (no virtualenv) and clusters that provision at once."""
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")
    monkeypatch.setenv("AZUREML_EMULATOR_PROVISIONING_SECONDS", "0")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("cli-root")
    workdir = tmp_path_factory.mktemp("cli-work")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AZUREML_EMULATOR_ROOT", str(root))
        patch.setenv("AZUREML_EMULATOR_BUILDER", "host")
        patch.setenv("AZUREML_EMULATOR_PROVISIONING_SECONDS", "0")
        patch.setenv("AZUREML_EMULATOR_CORE_QUOTA", "1")
        patch.chdir(workdir)
        ws = Workspace.create("cli-ws", subscription_id="sub", resource_group="rg")
        model = register_model(ws, workdir)
        image = build_image(ws, workdir, "score_seed_model.py", "seed-img")

        CondaDependencies.create(conda_packages=["cudatoolkit"]).save("gpu.yml")
        failed_image = Image.create(
            ws,
            "gpu-img",
            [model],
            ContainerImage.image_configuration(
                "score_seed_model.py", "python", conda_file="gpu.yml"
            ),
        )
        with pytest.raises(WebserviceException):
            failed_image.wait_for_creation()

        failed_compute = ComputeTarget.create(
            ws, "aks-quota", AksCompute.provisioning_configuration()
        )
        with pytest.raises(ComputeTargetException):
            failed_compute.wait_for_completion()

        cluster = ComputeTarget.create(  # one vCPU: exactly the quota
            ws,
            "aks-dev",
            AksCompute.provisioning_configuration(
                agent_count=1,
                vm_size="Standard_D1_v2",
                cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST,
            ),
        )
        cluster.wait_for_completion()

        config = AciWebservice.deploy_configuration(auth_enabled=True, tags={"team": "cli"})
        service = Webservice.deploy_from_image(ws, "seed-svc", image, config)
        aks_config = AksWebservice.deploy_configuration(
            autoscale_enabled=True, autoscale_max_replicas=2, cpu_cores=0.2, memory_gb=0.25
        )
        aks_service = Webservice.deploy_from_image(ws, "seed-aks", image, aks_config, cluster)
        service.wait_for_deployment()
        aks_service.wait_for_deployment()
        try:
            yield World(
                root, ws, model, image, failed_image, failed_compute, cluster, service, aks_service
            )
        finally:
            service.delete()
            aks_service.delete()
