"""Fixtures for the fault tests: fast deployments (host builder, process runtime) and HTTP."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emulator import (
    AksCompute,
    AksWebservice,
    ComputeTarget,
    ContainerImage,
    Image,
    Webservice,
    Workspace,
)

ASSETS = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(autouse=True)
def fast_world(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")
    monkeypatch.setenv("AZUREML_EMULATOR_PROVISIONING_SECONDS", "0")


@pytest.fixture
def timed_image(aml_workspace: Workspace, workdir: Path) -> Image:
    """``score_timed.py``: answers ``{"pid", "version"}``, sleeps ``{"sleep": s}`` first."""
    shutil.copy(ASSETS / "scoring" / "score_timed.py", workdir / "score_timed.py")
    image = Image.create(
        aml_workspace, "timed", [], ContainerImage.image_configuration("score_timed.py", "python")
    )
    image.wait_for_creation()
    return image


@pytest.fixture
def cluster(aml_workspace: Workspace) -> ComputeTarget:
    config = AksCompute.provisioning_configuration(
        cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST
    )
    target = ComputeTarget.create(aml_workspace, "aks-faults", config)
    target.wait_for_completion()
    return target


@pytest.fixture
def deploy_aks(
    aml_workspace: Workspace, timed_image: Image, cluster: ComputeTarget
) -> Callable[..., Any]:
    """Deploy ``score_timed.py`` to the test cluster and wait until it is healthy."""

    def deploy(name: str, wait: bool = True, **config: Any) -> Any:
        service = Webservice.deploy_from_image(
            aml_workspace, name, timed_image, AksWebservice.deploy_configuration(**config), cluster
        )
        if wait:
            service.wait_for_deployment()
        return service

    return deploy
