"""What deployed services, their image and their cluster report through the shim: the
attributes and calls notebooks read after a deployment (``created_by``, ``updated_time``,
``compute_name``, ``autoscaler``, ``public_fqdn``, ``Image.image_type``, ``AksCompute.cluster_fqdn``
...). One AKS cluster, one AKS service and one legacy ``deploy_from_model`` ACI service serve the
module (host builder, process runtime, no provisioning delay)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from emulator import mock_aml

SCRIPT = """
def init():
    pass

def run(raw_data):
    return {"ok": True}
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("services")
    (base / "app").mkdir()
    (base / "app" / "score.py").write_text(SCRIPT)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AZUREML_EMULATOR_BUILDER", "host")
        patch.setenv("AZUREML_EMULATOR_PROVISIONING_SECONDS", "0")
        patch.chdir(base / "app")
        with mock_aml(root=base / "root", strict=False):
            from azureml.core import Model, Workspace
            from azureml.core.compute import AksCompute, ComputeTarget
            from azureml.core.image import ContainerImage
            from azureml.core.model import InferenceConfig
            from azureml.core.webservice import AciWebservice, AksWebservice, Webservice

            ws = Workspace.get("ws", subscription_id="sub", resource_group="rg")
            cluster = ComputeTarget.create(
                ws, "aks-svc", AksCompute.provisioning_configuration(cluster_purpose="DevTest")
            )
            cluster.wait_for_completion()
            config = AksWebservice.deploy_configuration(
                cpu_cores=0.1, memory_gb=0.2, scoring_timeout_ms=5000, namespace="team-a"
            )
            aks = Model.deploy(
                ws, "svc-aks", [], InferenceConfig(entry_script="score.py"), config, cluster
            )
            aks.wait_for_deployment()
            aci = Webservice.deploy_from_model(
                ws,
                "svc-aci",
                [],
                ContainerImage.image_configuration("score.py", "python"),
                AciWebservice.deploy_configuration(
                    cpu_cores=0.1,
                    memory_gb=0.2,
                    cmk_vault_base_url="https://vault.vault.azure.net",
                    cmk_key_name="key",
                    cmk_key_version="1",
                    vnet_name="vnet",
                    subnet_name="subnet",
                ),
            )
            aci.wait_for_deployment()
            yield {"ws": ws, "cluster": cluster, "aks": aks, "aci": aci}
            for service in (aks, aci):
                service.delete()


def test_every_service_reports_who_and_when(world: dict[str, Any]) -> None:
    from azureml.core.webservice import AciWebservice, AksWebservice

    aks, aci = world["aks"], world["aci"]
    assert isinstance(aks, AksWebservice) and isinstance(aci, AciWebservice)
    for service in (aks, aci):
        assert service.created_by == "emulator" and service.image_digest is None
        assert isinstance(service.updated_time, datetime)
        assert service.updated_time >= service.created_time


def test_aks_service_reports_its_settings(world: dict[str, Any]) -> None:
    aks = world["aks"]
    assert (aks.compute_name, aks.namespace, aks.scoring_timeout_ms) == ("aks-svc", "team-a", 5000)
    assert aks.container_resource_requirements["cpu"] == 0.1
    assert aks.autoscaler["autoscaleEnabled"] is True
    assert aks.max_concurrent_requests_per_container == 1
    assert aks.max_request_wait_time == 500
    assert aks.liveness_probe_requirements["periodSeconds"] == 10
    assert aks.enable_app_insights is False
    with pytest.raises(Exception, match=r"[Tt]oken"):
        aks.get_access_token()


def test_aci_service_reports_its_address_and_environment(world: dict[str, Any]) -> None:
    aci = world["aci"]
    assert aci.public_fqdn == "127.0.0.1" and aci.public_ip == "127.0.0.1"
    assert aci.container_resource_requirements == {"cpu": 0.1, "memoryInGB": 0.2}
    # What it was deployed with (offline no key encrypts anything and no network exists).
    assert aci.encryption_properties.cmk_vault_base_url == "https://vault.vault.azure.net"
    assert (aci.encryption_properties.cmk_key_name, aci.vnet_configuration.subnet_name) == (
        "key",
        "subnet",
    )
    from azureml.core import Environment

    # A legacy image configuration's environment: the conda file it named, or the default.
    assert isinstance(aci.environment, Environment)
    assert aci.run("{}") == {"ok": True}


def test_the_legacy_image_reports_its_type_and_edits_its_metadata(world: dict[str, Any]) -> None:
    from azureml.core import Image

    image = Image(world["ws"], id=world["aci"].image_id)
    assert image.image_type == "Docker"
    image.add_properties({"stage": "test"})
    image.add_tags({"team": "a", "drop": "me"})
    image.remove_tags(["drop"])
    image.update_creation_state()
    again = Image(world["ws"], id=image.id)
    assert again.properties["stage"] == "test" and again.tags == {"team": "a"}
    assert again.creation_state == "Succeeded" and again.driver_program == "score.py"


def test_the_cluster_reports_where_and_when(world: dict[str, Any]) -> None:
    from azureml.core.compute import AksCompute

    cluster = world["cluster"]
    assert isinstance(cluster, AksCompute)
    cluster.refresh_state()
    assert cluster.provisioning_state == "Succeeded"
    assert cluster.cluster_location == world["ws"].location
    assert cluster.cluster_fqdn and cluster.cluster_fqdn.endswith(".azmk8s.io")
    assert cluster.created_on <= cluster.modified_on
    assert cluster.system_services is None
    from azureml.core import ComputeTarget

    assert ComputeTarget.deserialize(world["ws"], cluster.serialize()).name == "aks-svc"


def test_aks_endpoint_version_types(tmp_path: Path) -> None:
    with mock_aml(root=tmp_path / "root"):
        from azureml.core.webservice import AksEndpoint

    assert (AksEndpoint.VersionType.control.value, AksEndpoint.VersionType.treatment.value) == (
        "Control",
        "Treatment",
    )


def test_local_webservice_state_names(tmp_path: Path) -> None:
    with mock_aml(root=tmp_path / "root"):
        from azureml.core.webservice import LocalWebservice

    assert (LocalWebservice.NETWORK_NAME, LocalWebservice.STATE_UNKNOWN) == (
        "azureml-local",
        "unknown",
    )
    assert (
        LocalWebservice.STATE_DEPLOYING,
        LocalWebservice.STATE_FAILED,
        LocalWebservice.STATE_DELETED,
    ) == ("deploying", "failed", "deleted")


def test_model_reports_its_registration(tmp_path: Path, world: dict[str, Any]) -> None:
    from azureml.core import Model

    (tmp_path / "m.pkl").write_bytes(b"x")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        model = Model.register(
            world["ws"],
            "m.pkl",
            "reg-model",
            model_framework=Model.Framework.SCIKITLEARN,
            model_framework_version="1.2",
        )
    assert (model.mime_type, model.unpack, model.model_framework_version) == (
        "application/json",
        False,
        "1.2",
    )
    assert (model.run_id, model.experiment_name) == (None, None)
    assert model.created_by is not None
    model.update_tags_properties(add_tags={"a": "1"}, add_properties={"p": "2"})
    again = Model(world["ws"], "reg-model")
    assert again.tags == {"a": "1"} and again.properties["p"] == "2"
