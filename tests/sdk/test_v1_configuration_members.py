"""Configuration objects through the shim: every keyword the SDK's factories and constructors
take is kept on the object under the SDK's attribute name (deployment code and the emulator's
deploy path read them back), and their ``validate_*`` calls refuse what the SDK refuses. No
deployment runs here: each test builds objects only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator import mock_aml


@pytest.fixture(scope="module", autouse=True)
def shim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with mock_aml(root=tmp_path_factory.mktemp("configs") / "root", strict=False):
        yield


def test_aks_provisioning_configuration_keeps_every_keyword() -> None:
    from azureml.core.compute import AksCompute
    from azureml.core.compute.aks import AksProvisioningConfiguration
    from azureml.core.compute.compute import ComputeTargetProvisioningConfiguration
    from azureml.exceptions import ComputeTargetException

    config = AksCompute.provisioning_configuration(
        agent_count=4,
        vm_size="Standard_D3_v2",
        location="westeurope",
        vnet_resourcegroup_name="net-rg",
        vnet_name="vnet",
        subnet_name="default",
        service_cidr="10.0.0.0/16",
        dns_service_ip="10.0.0.10",
        docker_bridge_cidr="172.17.0.1/16",
        cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST,
        load_balancer_type="InternalLoadBalancer",
        load_balancer_subnet="lb-subnet",
    )
    assert isinstance(config, AksProvisioningConfiguration)
    assert isinstance(config, ComputeTargetProvisioningConfiguration)
    assert (config.agent_count, config.vm_size, config.location) == (
        4,
        "Standard_D3_v2",
        "westeurope",
    )
    assert (config.vnet_resourcegroup_name, config.vnet_name, config.subnet_name) == (
        "net-rg",
        "vnet",
        "default",
    )
    assert (config.service_cidr, config.dns_service_ip, config.docker_bridge_cidr) == (
        "10.0.0.0/16",
        "10.0.0.10",
        "172.17.0.1/16",
    )
    assert (config.cluster_purpose, config.load_balancer_type, config.load_balancer_subnet) == (
        "DevTest",
        "InternalLoadBalancer",
        "lb-subnet",
    )
    config.enable_ssl(leaf_domain_label="contoso", overwrite_existing_domain=True)
    assert (config.leaf_domain_label, config.overwrite_existing_domain) == ("contoso", True)
    assert (config.ssl_cname, config.ssl_cert_pem_file, config.ssl_key_pem_file) == (
        None,
        None,
        None,
    )
    config.validate_configuration()
    direct = AksProvisioningConfiguration(agent_count=0, vm_size="Standard_D3_v2")
    with pytest.raises(ComputeTargetException, match="agent count must be a positive integer"):
        direct.validate_configuration()


def test_aks_attach_configuration_keeps_every_keyword() -> None:
    from azureml.core.compute import AksCompute
    from azureml.core.compute.aks import AksAttachConfiguration
    from azureml.core.compute.compute import ComputeTargetAttachConfiguration
    from azureml.exceptions import ComputeTargetException

    config = AksCompute.attach_configuration(
        resource_group="rg",
        cluster_name="aks",
        cluster_purpose="FastProd",
        load_balancer_type="PublicIp",
        load_balancer_subnet=None,
    )
    assert isinstance(config, AksAttachConfiguration)
    assert isinstance(config, ComputeTargetAttachConfiguration)
    assert (config.resource_group, config.cluster_name, config.resource_id) == ("rg", "aks", None)
    assert (config.cluster_purpose, config.load_balancer_type, config.load_balancer_subnet) == (
        "FastProd",
        "PublicIp",
        None,
    )
    assert (
        config.enable_ssl(
            ssl_cname="www.contoso.com", ssl_cert_pem_file="c.pem", ssl_key_pem_file="k.pem"
        )
        is config
    )
    assert (config.ssl_cname, config.ssl_cert_pem_file, config.ssl_key_pem_file) == (
        "www.contoso.com",
        "c.pem",
        "k.pem",
    )
    assert (config.leaf_domain_label, config.overwrite_existing_domain) == (None, False)
    config.validate_configuration()
    both = AksAttachConfiguration(resource_group="rg", resource_id="/subscriptions/x")
    with pytest.raises(ComputeTargetException, match="Invalid resource_id"):
        both.validate_configuration()


def test_aks_update_and_ssl_configuration_keep_every_keyword() -> None:
    from azureml.core.compute.aks import AksUpdateConfiguration, SslConfiguration

    ssl = SslConfiguration(
        status="Enabled",
        cert="c.pem",
        key="k.pem",
        cname="www.contoso.com",
        leaf_domain_label=None,
        overwrite_existing_domain=False,
        renew=True,
    )
    assert (ssl.status, ssl.cert, ssl.key, ssl.cname) == (
        "Enabled",
        "c.pem",
        "k.pem",
        "www.contoso.com",
    )
    assert (ssl.leaf_domain_label, ssl.overwrite_existing_domain, ssl.renew) == (None, False, True)
    update = AksUpdateConfiguration(
        ssl, load_balancer_type="InternalLoadBalancer", load_balancer_subnet="s"
    )
    assert update.ssl_configuration is ssl
    assert (update.load_balancer_type, update.load_balancer_subnet) == ("InternalLoadBalancer", "s")
    update.validate_configuration()


def test_container_image_configuration_keeps_every_keyword(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azureml.core.image import ContainerImage
    from azureml.core.image.container import ContainerImageConfig
    from azureml.exceptions import WebserviceException

    monkeypatch.chdir(tmp_path)
    Path("score.py").write_text("def init():\n    pass\n\n\ndef run(data):\n    return data\n")
    Path("env.yml").write_text("dependencies:\n  - pip:\n    - azureml-defaults\n")
    Path("helper.py").write_text("")
    Path("schema.json").write_text("{}")
    config = ContainerImage.image_configuration(
        execution_script="score.py",
        runtime="python",
        conda_file="env.yml",
        schema_file="schema.json",
        dependencies=["helper.py"],
        enable_gpu=False,
        tags={"team": "a"},
        properties={"p": "1"},
        description="legacy image",
        base_image="mcr.microsoft.com/azureml/base:latest",
        cuda_version=None,
    )
    assert isinstance(config, ContainerImageConfig)
    assert (config.execution_script, config.runtime, config.conda_file) == (
        "score.py",
        "python",
        "env.yml",
    )
    assert (config.schema_file, config.dependencies, config.docker_file) == (
        "schema.json",
        ["helper.py"],
        None,
    )
    assert (config.enable_gpu, config.tags, config.properties) == (False, {"team": "a"}, {"p": "1"})
    assert (config.description, config.base_image, config.cuda_version) == (
        "legacy image",
        "mcr.microsoft.com/azureml/base:latest",
        None,
    )
    assert config.base_image_registry is None and config.allow_absolute_path is False
    direct = ContainerImageConfig("score.py", "python", allow_absolute_path=True)
    assert direct.allow_absolute_path is True
    assert config.execution_script_path == str(tmp_path.resolve())
    config.validate_configuration()
    config.runtime = "java"
    with pytest.raises(WebserviceException, match=r"Possible runtimes are: spark-py\|python"):
        config.validate_configuration()


@pytest.mark.parametrize("kind", ["aks", "endpoint"])
def test_aks_deployment_configurations_keep_every_keyword(kind: str) -> None:
    from azureml.core.webservice import AksEndpoint, AksWebservice
    from azureml.core.webservice.aks import (
        AksEndpointDeploymentConfiguration,
        AksServiceDeploymentConfiguration,
    )
    from azureml.exceptions import WebserviceException

    common: dict[str, Any] = {
        "cpu_cores": 0.5,
        "memory_gb": 1,
        "compute_target_name": "aks-cluster",
        "cpu_cores_limit": 1,
        "memory_gb_limit": 2,
        "namespace": "team-a",
        "primary_key": "pk",
        "secondary_key": "sk",
        "description": "scoring",
        "properties": {"p": "1"},
    }
    if kind == "aks":
        config = AksWebservice.deploy_configuration(**common)
        assert isinstance(config, AksServiceDeploymentConfiguration)
    else:
        config = AksEndpoint.deploy_configuration(
            **common, version_name="blue", traffic_percentile=30
        )
        assert isinstance(config, AksEndpointDeploymentConfiguration)
        assert (config.version_name, config.traffic_percentile) == ("blue", 30)
        config.validate_endpoint_configuration()
        config.traffic_percentile = 130
        with pytest.raises(WebserviceException, match="traffic_percentile"):
            config.validate_endpoint_configuration()
    assert (config.compute_target_name, config.cpu_cores_limit, config.memory_gb_limit) == (
        "aks-cluster",
        1,
        2,
    )
    assert (config.namespace, config.primary_key, config.secondary_key) == ("team-a", "pk", "sk")
    assert (config.description, config.properties) == ("scoring", {"p": "1"})
    with pytest.raises(WebserviceException, match="Image is None"):
        config.validate_image(None)


def test_aci_and_local_deployment_configurations_keep_every_keyword() -> None:
    from azureml.core.webservice import AciWebservice, LocalWebservice
    from azureml.core.webservice.aci import AciServiceDeploymentConfiguration
    from azureml.core.webservice.local import LocalWebserviceDeploymentConfiguration
    from azureml.exceptions import WebserviceException

    aci = AciWebservice.deploy_configuration(
        cpu_cores=1,
        memory_gb=1,
        description="aci",
        properties={"p": "1"},
        primary_key="pk",
        secondary_key="sk",
        ssl_cert_pem_file="c.pem",
        ssl_key_pem_file="k.pem",
        ssl_cname="www.contoso.com",
        cmk_vault_base_url="https://vault.vault.azure.net",
        cmk_key_name="key",
        cmk_key_version="1",
        vnet_name="vnet",
        subnet_name="subnet",
    )
    assert isinstance(aci, AciServiceDeploymentConfiguration)
    assert (aci.description, aci.properties, aci.primary_key, aci.secondary_key) == (
        "aci",
        {"p": "1"},
        "pk",
        "sk",
    )
    assert (aci.ssl_cert_pem_file, aci.ssl_key_pem_file, aci.ssl_cname) == (
        "c.pem",
        "k.pem",
        "www.contoso.com",
    )
    assert (aci.cmk_vault_base_url, aci.cmk_key_name, aci.cmk_key_version) == (
        "https://vault.vault.azure.net",
        "key",
        "1",
    )
    assert (aci.vnet_name, aci.subnet_name) == ("vnet", "subnet")
    with pytest.raises(WebserviceException, match="Image is None"):
        aci.validate_image(None)
    with pytest.raises(WebserviceException, match="customer managed key"):
        AciServiceDeploymentConfiguration(
            cpu_cores=1, memory_gb=1, cmk_key_name="only-one"
        ).validate_configuration()

    local = LocalWebservice.deploy_configuration(port=6789)
    assert isinstance(local, LocalWebserviceDeploymentConfiguration)
    assert (local.port, local.description, local.properties) == (6789, None, None)
    assert (local.primary_key, local.secondary_key) == (None, None)
    with pytest.raises(WebserviceException, match="Image is None"):
        local.validate_image(None)
    assert LocalWebserviceDeploymentConfiguration(port=1234).port == 1234


def test_environment_sections_and_registry_objects_keep_every_keyword() -> None:
    from azureml.core import Environment
    from azureml.core.environment import (
        ContainerRegistry,
        DockerImagePlatform,
        DockerSection,
        PythonSection,
    )
    from azureml.core.runconfig import ContainerRegistry as RunconfigRegistry

    registry = ContainerRegistry(address="myacr.azurecr.io", username="u", password="p")
    assert (registry.address, registry.username, registry.password, registry.registry_identity) == (
        "myacr.azurecr.io",
        "u",
        "p",
        None,
    )
    assert RunconfigRegistry is ContainerRegistry
    platform = DockerImagePlatform(os="Linux", architecture="arm64")
    assert (platform.os, platform.architecture) == ("Linux", "arm64")
    env = Environment("sections")
    docker = env.docker
    assert isinstance(docker, DockerSection)
    docker.base_image_registry = registry
    docker.arguments = ["--shm-size", "1g"]
    assert docker.base_image_registry.address == "myacr.azurecr.io"
    assert (docker.arguments, docker.enabled, docker.shared_volumes) == (
        ["--shm-size", "1g"],
        False,
        True,
    )
    assert (docker.base_dockerfile, docker.build_context) == (None, None)
    python = PythonSection()
    assert (python.user_managed_dependencies, python.interpreter_path) == (False, "python")
    assert python.conda_dependencies_file is None
    assert "python=" in python.conda_dependencies.serialize_to_string()


def test_resource_configuration_and_data_collection_keep_their_values() -> None:
    from azureml.core.resource_configuration import ResourceConfiguration
    from azureml.core.webservice.aks import DataCollection
    from azureml.exceptions import WebserviceException

    resources = ResourceConfiguration(cpu=2, memory_in_gb=4, gpu=1)
    assert (resources.cpu, resources.memory_in_gb, resources.gpu) == (2, 4, 1)
    assert ResourceConfiguration.deserialize(resources.serialize()).memory_in_gb == 4
    with pytest.raises(WebserviceException, match="missing memoryInGB"):
        ResourceConfiguration.deserialize({"cpu": 1, "gpu": None})
    collection = DataCollection(event_hub_enabled=False, storage_enabled=True)
    assert (collection.event_hub_enabled, collection.storage_enabled) == (False, True)


def test_inference_config_keeps_every_keyword(tmp_path: Path) -> None:
    from azureml.core.environment import ContainerRegistry
    from azureml.core.model import InferenceConfig
    from azureml.exceptions import WebserviceException

    (tmp_path / "score.py").write_text(
        "def init():\n    pass\n\n\ndef run(data):\n    return data\n"
    )
    registry = ContainerRegistry(address="myacr.azurecr.io")
    config = InferenceConfig(
        entry_script="score.py",
        runtime="python",
        source_directory=str(tmp_path),
        enable_gpu=False,
        base_image="myacr.azurecr.io/base:1",
        base_image_registry=registry,
        cuda_version=None,
        extra_docker_file_steps=None,
    )
    assert (config.entry_script, config.enable_gpu, config.cuda_version) == (
        "score.py",
        False,
        None,
    )
    assert (config.base_image_registry, config.extra_docker_file_steps) == (registry, None)
    config.validate_configuration()
    config.cuda_version = "8.0"
    with pytest.raises(WebserviceException, match="Possible cuda_versions are"):
        config.validate_configuration()


def test_aks_deployment_configuration_constructor_takes_the_sdks_keywords() -> None:
    from azureml.core.webservice.aks import AksServiceDeploymentConfiguration

    aks = AksServiceDeploymentConfiguration(cpu_cores=0.5, memory_gb=1, namespace="team-b")
    assert (aks.cpu_cores, aks.memory_gb, aks.namespace) == (0.5, 1, "team-b")


def test_aci_encryption_and_network_payloads_round_trip() -> None:
    from azureml.core.webservice.aci import EncryptionProperties, VnetConfiguration
    from azureml.exceptions import WebserviceException

    key = EncryptionProperties("https://vault.vault.azure.net", "key", "1")
    assert (key.cmk_vault_base_url, key.cmk_key_name, key.cmk_key_version) == (
        "https://vault.vault.azure.net",
        "key",
        "1",
    )
    assert EncryptionProperties.deserialize(key.serialize()).cmk_key_name == "key"
    network = VnetConfiguration("vnet", "subnet")
    assert (network.vnet_name, network.subnet_name) == ("vnet", "subnet")
    assert VnetConfiguration.deserialize(network.serialize()).subnet_name == "subnet"
    assert VnetConfiguration.deserialize(None) is None
    with pytest.raises(WebserviceException, match="missing subnetName for VnetConfiguration"):
        VnetConfiguration.deserialize({"vnetName": "vnet"})
