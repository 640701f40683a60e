"""The portal shows SDK v2 online endpoints beside the v1 services: auth mode, scoring URI,
traffic and mirrored traffic, each deployment's state and instances, and a deployment's logs.

The endpoints are made by the real ``azure-ai-ml`` against an emulator served by this process
(as ``amlemu run`` serves one); the portal reads them from the root, as ``amlemu portal`` does
in a process of its own."""

from __future__ import annotations

import html
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from emulator import Workspace
from emulator.daemon.client_env import SDK_SET_VARIABLES, client_environment
from emulator.daemon.server import EmulatorServer
from emulator.portal.app import PortalApp
from emulator.store.root import EmulatorRoot

SCORE = """
import os

def init():
    print("model loaded from", os.path.basename(os.environ["AZUREML_MODEL_DIR"]))

def run(raw):
    return raw
"""
CLUSTER = (
    "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks"
)
CRASHING = "def init():\n    raise RuntimeError('weights are corrupt')\n\ndef run(raw):\n    pass\n"


@dataclass(frozen=True)
class V2World:
    workspace: Workspace
    base_url: str
    scoring_uri: str


def _deploy(client: Any, work: Path, endpoint: str, name: str, script: str, count: int) -> Any:
    from azure.ai.ml.entities import CodeConfiguration, Environment, ManagedOnlineDeployment, Model

    code = work / f"src-{name}"
    code.mkdir()
    (code / "score.py").write_text(script)
    return client.online_deployments.begin_create_or_update(
        ManagedOnlineDeployment(
            name=name,
            endpoint_name=endpoint,
            model=Model(path=str(work / "weights.txt")),
            code_configuration=CodeConfiguration(code=str(code), scoring_script="score.py"),
            environment=Environment(image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"),
            instance_type="Standard_DS3_v2",
            instance_count=count,
        )
    )


@pytest.fixture(scope="module")
def v2_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[V2World]:
    """Endpoint ``shop`` (key): ``blue`` on two instances with all the traffic, ``green``
    mirrored 20 %; endpoint ``crashy`` (aml_token): ``bad``, whose ``init()`` raises; endpoint
    ``k8s-ep`` on the attached Kubernetes compute ``k8s``, without deployments."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from azure.ai.ml import MLClient
        from azure.ai.ml.entities import (
            KubernetesCompute,
            KubernetesOnlineEndpoint,
            ManagedOnlineEndpoint,
        )
        from azure.core.exceptions import HttpResponseError
        from azure.identity import DefaultAzureCredential

    root = tmp_path_factory.mktemp("v2-portal-root")
    work = tmp_path_factory.mktemp("v2-portal-work")
    (work / "weights.txt").write_text("1")
    with pytest.MonkeyPatch.context() as patch, EmulatorServer(EmulatorRoot(root)) as server:
        patch.setenv("AZUREML_EMULATOR_ROOT", str(root))
        patch.setenv("AZUREML_EMULATOR_BUILDER", "host")
        patch.setenv("AZUREML_EMULATOR_TIME_SCALE", "0.02")
        for name in (
            "AZURE_CLIENT_ID",
            "AZURE_TENANT_ID",
            "AZURE_CLIENT_SECRET",
            *SDK_SET_VARIABLES,
        ):
            patch.delenv(name, raising=False)
        variables = client_environment(
            server.ca, server.base_url, server.identity_secret, os.environ
        )
        for name, value in variables.items():
            patch.setenv(name, value)
        client = MLClient(DefaultAzureCredential(), "sub", "rg", "portal-v2")
        client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="shop")).result()
        client.online_endpoints.begin_create_or_update(
            ManagedOnlineEndpoint(name="crashy", auth_mode="aml_token")
        ).result()
        client.compute.begin_create_or_update(
            KubernetesCompute(name="k8s", resource_id=CLUSTER, namespace="azureml")
        ).result()
        client.online_endpoints.begin_create_or_update(
            KubernetesOnlineEndpoint(name="k8s-ep", compute="k8s")
        ).result()
        blue = _deploy(client, work, "shop", "blue", SCORE, 2)
        green = _deploy(client, work, "shop", "green", SCORE, 1)
        bad = _deploy(client, work, "crashy", "bad", CRASHING, 1)
        blue.result(), green.result()
        with pytest.raises(HttpResponseError):
            bad.result()
        shop = client.online_endpoints.get("shop")
        shop.traffic = {"blue": 100}
        shop.mirror_traffic = {"green": 20}
        client.online_endpoints.begin_create_or_update(shop).result()
        workspace = Workspace.get("portal-v2", subscription_id="sub", resource_group="rg")
        yield V2World(workspace, server.base_url, client.online_endpoints.get("shop").scoring_uri)


@pytest.fixture
def portal(v2_world: V2World) -> Client:
    return Client(PortalApp(v2_world.workspace, arm_url=lambda: v2_world.base_url))


def test_the_deployments_page_lists_online_endpoints_beside_the_services(
    portal: Client, v2_world: V2World
) -> None:
    page = portal.get("/services").text
    shop = page.split('id="endpoint-shop"')[1].split("</tr>")[0]
    assert "<td>Managed</td><td>Key</td>" in shop
    assert v2_world.scoring_uri in shop
    assert "blue=100" in shop and "green=20" in shop
    assert (
        'blue</a> <span class="state Succeeded">Succeeded</span> Standard_DS3_v2 \u00d7 2' in shop
    )
    crashy = page.split('id="endpoint-crashy"')[1].split("</tr>")[0]
    assert "AMLToken" in crashy and "Failed" in crashy
    k8s = page.split('id="endpoint-k8s-ep"')[1].split("</tr>")[0]
    assert "<td>Kubernetes on k8s</td><td>Key</td>" in k8s


def test_an_endpoint_page_shows_each_deployment_with_its_share_and_error(portal: Client) -> None:
    page = portal.get("/endpoints/shop").text
    blue = page.split('id="deployment-blue"')[1].split("</tr>")[0]
    assert "Succeeded" in blue and "<td>2</td>" in blue and "<td>100%</td>" in blue
    green = page.split('id="deployment-green"')[1].split("</tr>")[0]
    assert "<td>0%</td><td>20%</td>" in green
    crashy = html.unescape(portal.get("/endpoints/crashy").text)
    assert "Failed" in crashy and "weights are corrupt" in crashy  # Azure's error, log tail


def test_a_deployment_page_shows_its_instances_logs(portal: Client) -> None:
    page = html.unescape(portal.get("/endpoints/shop/deployments/blue").text)
    assert 'id="instance-type">Standard_DS3_v2<' in page and 'id="instance-count">2<' in page
    assert page.count("model loaded from") == 2  # one log per instance
    assert "Instance 1 log" in page and "Instance 2 log" in page
    assert page.count(" · running · pid ") == 2
    failed = html.unescape(portal.get("/endpoints/crashy/deployments/bad").text)
    assert "RuntimeError: weights are corrupt" in failed


def test_without_a_server_the_scoring_uri_is_not_offered(v2_world: V2World) -> None:
    page = Client(PortalApp(v2_world.workspace)).get("/endpoints/shop").text
    assert v2_world.scoring_uri not in page and "amlemu up" in page


def test_an_unknown_endpoint_or_deployment_is_a_404_naming_what_exists(portal: Client) -> None:
    missing = portal.get("/endpoints/nope")
    assert missing.status_code == 404
    assert "'crashy', 'k8s-ep', 'shop'" in html.unescape(missing.text)
    deployment = portal.get("/endpoints/shop/deployments/red")
    assert deployment.status_code == 404
    assert "'blue', 'green'" in html.unescape(deployment.text)
