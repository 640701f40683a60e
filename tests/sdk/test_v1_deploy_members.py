"""The SDK v1 members deployment code calls beside deploying, through the shim as users write
them: ``Webservice.deserialize`` / ``check_for_existing_webservice`` /
``deploy_local_from_model``, ``LocalWebservice.deploy_to_cloud`` / ``get_logs(num_lines, raw)``,
``Image.deserialize``, ``AksCompute.deserialize`` / ``update`` / ``get_credentials``,
``AksAttachConfiguration.enable_ssl``, the exceptions' constructors, and
``AksWebservice.environment`` / ``deployment_status``.

Images are built with the host builder and replicas run on the process runtime.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SCRIPT = """
def init():
    print("members: init done")

def run(raw_data):
    return {"ok": True}
"""


@pytest.fixture(autouse=True)
def fast_world(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")
    monkeypatch.setenv("AZUREML_EMULATOR_PROVISIONING_SECONDS", "0")


@pytest.fixture
def cluster(aml_workspace: Any) -> Any:
    from azureml.core.compute import AksCompute, ComputeTarget

    config = AksCompute.provisioning_configuration(
        cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST
    )
    target = ComputeTarget.create(aml_workspace, "aks-members", config)
    target.wait_for_completion()
    return target


@pytest.fixture
def aks_service(aml_workspace: Any, workdir: Path, cluster: Any) -> Any:
    from azureml.core import Model
    from azureml.core.model import InferenceConfig
    from azureml.core.webservice import AksWebservice

    (workdir / "score.py").write_text(SCRIPT)
    config = AksWebservice.deploy_configuration(num_replicas=1, cpu_cores=0.1, memory_gb=0.2)
    service = Model.deploy(
        aml_workspace, "members-aks", [], InferenceConfig(entry_script="score.py"), config, cluster
    )
    service.wait_for_deployment()
    return service


def test_aks_service_reports_its_environment_and_replicas(aks_service: Any) -> None:
    from azureml.core import Environment

    assert isinstance(aks_service.environment, Environment)
    assert aks_service.environment.name == "members-aks-env"
    assert aks_service.deployment_status == {
        "desiredReplicas": 1,
        "updatedReplicas": 1,
        "availableReplicas": 1,
        "error": None,
    }
    # not a version of an endpoint
    assert (aks_service.is_default, aks_service.traffic_percentile, aks_service.version_type) == (
        None,
        None,
        None,
    )


def test_webservice_deserialize_and_name_check(aml_workspace: Any, aks_service: Any) -> None:
    from azureml.core.webservice import AciWebservice, AksWebservice, Webservice
    from azureml.exceptions import WebserviceException

    again = AksWebservice.deserialize(aml_workspace, aks_service.serialize())
    assert isinstance(again, AksWebservice) and again.scoring_uri == aks_service.scoring_uri
    with pytest.raises(WebserviceException, match="computeType is not ACI"):
        AciWebservice.deserialize(aml_workspace, aks_service.serialize())
    payload = {k: v for k, v in aks_service.serialize().items() if k != "name"}
    with pytest.raises(WebserviceException, match='missing "name"'):
        AksWebservice.deserialize(aml_workspace, payload)

    with pytest.raises(WebserviceException, match="members-aks with the same name already exists"):
        Webservice.check_for_existing_webservice(aml_workspace, "members-aks")
    Webservice.check_for_existing_webservice(aml_workspace, "members-aks", overwrite=True)
    Webservice.check_for_existing_webservice(aml_workspace, "free-name")
    with pytest.raises(WebserviceException, match=r"^taken$"):
        Webservice.check_for_existing_webservice(
            aml_workspace,
            "free-name",
            request_func=lambda: json.dumps({"error": {"message": "taken"}}),
        )
    Webservice.check_for_existing_webservice(
        aml_workspace, "members-aks", check_func=lambda content: None
    )


def test_local_from_model_then_to_the_cloud(aml_workspace: Any, workdir: Path) -> None:
    from azureml.core import Image
    from azureml.core.image import ContainerImage
    from azureml.core.webservice import AciWebservice, LocalWebservice, Webservice
    from azureml.exceptions import WebserviceException

    (workdir / "score.py").write_text(SCRIPT)
    image_config = ContainerImage.image_configuration("score.py", "python")
    local = Webservice.deploy_local_from_model(
        aml_workspace, "members-local", [], image_config, wait=True
    )
    assert isinstance(local, LocalWebservice) and local.state == LocalWebservice.STATE_RUNNING
    assert local.run("{}") == {"ok": True}
    assert "members: init done" in local.get_logs(num_lines=50, raw=True)
    with pytest.raises(NotImplementedError, match="cannot be deserialized"):
        LocalWebservice.deserialize(aml_workspace, local.serialize())

    cloud = local.deploy_to_cloud(name="members-cloud")
    assert isinstance(cloud, AciWebservice)
    cloud.wait_for_deployment()
    assert cloud.run("{}") == {"ok": True}
    assert cloud.image_id == local.image_id

    image = Image.deserialize(aml_workspace, local.image.serialize())
    assert image.id == local.image_id
    AciWebservice.deploy_configuration().validate_image(image)
    with pytest.raises(WebserviceException, match="Image is None"):
        LocalWebservice.deploy_configuration().validate_image(None)

    assert [s.name for s in LocalWebservice.list(aml_workspace)] == ["members-local"]
    assert LocalWebservice.list(aml_workspace, model_name="no-such-model") == []
    local.delete()
    assert LocalWebservice.list(aml_workspace, all=True) == []
    with pytest.raises(WebserviceException, match="members-local does not exist"):
        local.update_deployment_state(must_exist=True)


def test_aks_compute_deserialize_update_credentials(aml_workspace: Any, cluster: Any) -> None:
    from azureml.core.compute import AksCompute
    from azureml.core.compute.aks import AksUpdateConfiguration, SslConfiguration
    from azureml.exceptions import ComputeTargetException

    again = AksCompute.deserialize(aml_workspace, cluster.serialize())
    assert isinstance(again, AksCompute) and again.name == "aks-members"
    with pytest.raises(ComputeTargetException, match="Invalid cluster payload"):
        AksCompute.deserialize(aml_workspace, {"properties": {}})

    with pytest.raises(ComputeTargetException, match="not all ssl information provided"):
        AksUpdateConfiguration(SslConfiguration(cname="www.contoso.com"))
    cluster.update(AksUpdateConfiguration(SslConfiguration(leaf_domain_label="contoso")))
    assert cluster.ssl_configuration == {
        "status": "Auto",
        "leafDomainLabel": "contoso",
        "overwriteExistingDomain": False,
    }
    cluster.update(AksUpdateConfiguration(SslConfiguration(renew=True)))
    assert AksCompute(aml_workspace, "aks-members").ssl_configuration["renew"] is True
    cluster.update(AksUpdateConfiguration(SslConfiguration(status="Disabled")))
    assert cluster.ssl_configuration == {"status": "Disabled"}

    with pytest.raises(ComputeTargetException, match="no Kubernetes API server"):
        cluster.get_credentials()
    with pytest.raises(ComputeTargetException, match="This method is DEPRECATED"):
        AksCompute.attach(aml_workspace, "old-style", cluster.cluster_resource_id)


def test_attach_with_ssl(aml_workspace: Any, cluster: Any) -> None:
    from azureml.core.compute import AksCompute, ComputeTarget
    from azureml.exceptions import ComputeTargetException

    resource_id = cluster.cluster_resource_id
    cluster.detach()
    config = AksCompute.attach_configuration(resource_id=resource_id, cluster_purpose="DevTest")
    with pytest.raises(ComputeTargetException, match="not all ssl information provided"):
        config.enable_ssl(ssl_cname="www.contoso.com")
    config = AksCompute.attach_configuration(resource_id=resource_id, cluster_purpose="DevTest")
    assert config.enable_ssl(leaf_domain_label="contoso") is config
    attached = ComputeTarget.attach(aml_workspace, "aks-ssl", config)
    attached.wait_for_completion()
    assert attached.ssl_configuration == {"status": "Auto", "leafDomainLabel": "contoso"}


def test_exception_constructors_take_the_sdks_parameters(
    aml_workspace: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from azureml.exceptions import (
        AzureMLException,
        ModelNotFoundException,
        RunEnvironmentException,
        WebserviceException,
        WorkspaceException,
    )

    cause = ValueError("root cause")
    try:
        raise cause
    except ValueError:
        error = AzureMLException("outer", inner_exception=cause, target="ws", details=["d"])
    assert (error.message, error.inner_exception) == ("outer", cause)
    assert WorkspaceException("two of them", found_multiple=True).found_multiple is True
    assert WorkspaceException("none").found_multiple is False
    assert WebserviceException("svc", status_code=409, inner_exception=cause).status_code == 409
    assert ModelNotFoundException("gone", inner_exception=cause).inner_exception is cause
    assert "Could not load a submitted run" in RunEnvironmentException().message
    error.print_stacktrace()
    assert "ValueError: root cause" in capsys.readouterr().err
