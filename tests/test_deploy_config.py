"""Web service deployment configurations: signatures, defaults and every validation message."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from emulator.errors import WebserviceException
from emulator.sdk.webservice_config import (
    AciServiceDeploymentConfiguration,
    AciSettings,
    AksServiceDeploymentConfiguration,
    AksSettings,
    LocalWebserviceDeploymentConfiguration,
    aci_deploy_configuration,
    aks_deploy_configuration,
    local_deploy_configuration,
)

ACI_PARAMS = [
    "cpu_cores",
    "memory_gb",
    "tags",
    "properties",
    "description",
    "location",
    "auth_enabled",
    "ssl_enabled",
    "enable_app_insights",
    "ssl_cert_pem_file",
    "ssl_key_pem_file",
    "ssl_cname",
    "dns_name_label",
    "primary_key",
    "secondary_key",
    "collect_model_data",
    "cmk_vault_base_url",
    "cmk_key_name",
    "cmk_key_version",
    "vnet_name",
    "subnet_name",
]
AKS_PARAMS = [
    "autoscale_enabled",
    "autoscale_min_replicas",
    "autoscale_max_replicas",
    "autoscale_refresh_seconds",
    "autoscale_target_utilization",
    "collect_model_data",
    "auth_enabled",
    "cpu_cores",
    "memory_gb",
    "enable_app_insights",
    "scoring_timeout_ms",
    "replica_max_concurrent_requests",
    "max_request_wait_time",
    "num_replicas",
    "primary_key",
    "secondary_key",
    "tags",
    "properties",
    "description",
    "gpu_cores",
    "period_seconds",
    "initial_delay_seconds",
    "timeout_seconds",
    "success_threshold",
    "failure_threshold",
    "namespace",
    "token_auth_enabled",
    "compute_target_name",
    "cpu_cores_limit",
    "memory_gb_limit",
    "blobfuse_enabled",
]


def _params(function: object) -> list[str]:
    parameters = [
        p
        for p in inspect.signature(function).parameters.values()  # type: ignore[arg-type]
        if p.name != "self"
    ]
    assert all(p.default is None for p in parameters)
    return [p.name for p in parameters]


def test_signatures_are_the_sdks() -> None:
    assert _params(aci_deploy_configuration) == ACI_PARAMS
    assert _params(aks_deploy_configuration) == AKS_PARAMS
    assert _params(local_deploy_configuration) == ["port"]
    # The configuration classes take the same parameters positionally, in the same order.
    assert _params(AciServiceDeploymentConfiguration.__init__) == ACI_PARAMS
    assert _params(AksServiceDeploymentConfiguration.__init__) == AKS_PARAMS


# -- ACI -----------------------------------------------------------------------------------------


def test_aci_keeps_what_was_passed_and_resolves_azures_defaults() -> None:
    config = aci_deploy_configuration()
    assert isinstance(config, AciServiceDeploymentConfiguration)
    assert all(getattr(config, name) is None for name in ACI_PARAMS)
    assert config.compute_type == "ACI"
    settings = config.to_runtime()
    assert settings == AciSettings()
    assert (settings.cpu_cores, settings.memory_gb) == (0.1, 0.5)
    assert settings.auth_enabled is settings.ssl_enabled is settings.enable_app_insights is False
    assert settings.location is None and settings.dns_name_label is None


def test_aci_seed_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    config = aci_deploy_configuration(
        cpu_cores=1,
        memory_gb=1,
        tags={"name": "automl-aci-cluster01"},
        description="NYC Taxi Fare Predictor Web Service",
    )
    assert (config.cpu_cores, config.memory_gb, config.tags) == (
        1,
        1,
        {"name": "automl-aci-cluster01"},
    )
    settings = config.to_runtime()
    assert (settings.cpu_cores, settings.memory_gb) == (1.0, 1.0)
    assert settings.payload()["containerResourceRequirements"] == {"cpu": 1.0, "memoryInGB": 1.0}
    config.print_deploy_configuration()
    assert capsys.readouterr().out == "CPU requirement: 1, Memory requirement: 1GB\n"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cpu_cores": 0}, "Invalid configuration, cpu_cores must be positive."),
        ({"cpu_cores": -1.5}, "Invalid configuration, cpu_cores must be positive."),
        ({"memory_gb": 0}, "Invalid configuration, memory_gb must be positive."),
        (
            {"ssl_enabled": True, "ssl_cname": "www.contoso.com"},
            "SSL is enabled, you must provide a SSL certificate, key, and cname.",
        ),
        (
            {"vnet_name": "vnet"},
            "vnet_name and subnet_name must all have values or both are empty/null",
        ),
        (
            {"subnet_name": "default"},
            "vnet_name and subnet_name must all have values or both are empty/null",
        ),
    ],
)
def test_aci_validation_messages(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(WebserviceException) as caught:
        aci_deploy_configuration(**kwargs)  # type: ignore[arg-type]
    assert caught.value.message == message


def test_aci_customer_managed_key_needs_all_three() -> None:
    with pytest.raises(WebserviceException) as caught:
        aci_deploy_configuration(cmk_vault_base_url="https://vault", cmk_key_name="key")
    message = caught.value.message
    assert message.startswith(
        "customer managed key vault_base_url, key_name and key_version must all have values or "
    )
    assert message.endswith(" all are empty/null")
    config = aci_deploy_configuration(
        cmk_vault_base_url="https://vault", cmk_key_name="key", cmk_key_version="1"
    )
    assert config.to_runtime().payload()["encryptionProperties"]["keyVersion"] == "1"


def test_aci_ssl_files_must_exist(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    ssl = {"ssl_enabled": True, "ssl_cname": "www.contoso.com"}
    with pytest.raises(WebserviceException) as caught:
        aci_deploy_configuration(ssl_cert_pem_file=str(cert), ssl_key_pem_file=str(key), **ssl)
    assert (
        caught.value.message == f"Error, unable to find SSL cert pem file provided paths:\n{cert}"
    )
    cert.write_text("cert")
    with pytest.raises(WebserviceException) as caught:
        aci_deploy_configuration(ssl_cert_pem_file=str(cert), ssl_key_pem_file=str(key), **ssl)
    assert caught.value.message == f"Error, unable to find SSL key pem file provided paths:\n{key}"
    key.write_text("key")
    config = aci_deploy_configuration(ssl_cert_pem_file=str(cert), ssl_key_pem_file=str(key), **ssl)
    assert config.to_runtime().ssl_enabled is True


def test_aci_revalidates_and_names_a_bad_type() -> None:
    config = aci_deploy_configuration(cpu_cores=2)
    config.cpu_cores = -1
    with pytest.raises(WebserviceException, match="cpu_cores must be positive"):
        config.validate_configuration()
    with pytest.raises(WebserviceException, match=r"cpu_cores must be a number.*\[emulator\]"):
        aci_deploy_configuration(cpu_cores="1")  # type: ignore[arg-type]


def test_aci_capacity_is_checked_with_azures_message() -> None:
    assert (
        aci_deploy_configuration(cpu_cores=4, memory_gb=16).to_runtime().capacity_error("eastus")
        is None
    )
    error = aci_deploy_configuration(cpu_cores=8, memory_gb=1).to_runtime().capacity_error("eastus")
    assert error is not None
    assert error.startswith(
        "The requested resource with 'CPU: 8.0, memoryInGB: 1.0' is not available in the "
        "location 'eastus' at this moment."
    )


# -- AKS -----------------------------------------------------------------------------------------


def test_aks_defaults_are_azures() -> None:
    config = aks_deploy_configuration()
    assert all(getattr(config, name) is None for name in AKS_PARAMS)
    assert config.compute_type == "AKS"
    settings = config.to_runtime()
    assert settings == AksSettings()
    assert settings.autoscale_enabled is True
    assert (
        settings.autoscale_min_replicas,
        settings.autoscale_max_replicas,
        settings.autoscale_refresh_seconds,
        settings.autoscale_target_utilization,
    ) == (1, 10, 1, 70)
    assert settings.num_replicas is None and settings.initial_replicas == 1
    assert (settings.cpu_cores, settings.memory_gb, settings.gpu_cores) == (0.1, 0.5, 0)
    assert settings.replica_max_concurrent_requests == 1
    assert settings.max_request_wait_time == 500
    assert settings.scoring_timeout_ms == 60000
    assert (
        settings.period_seconds,
        settings.initial_delay_seconds,
        settings.timeout_seconds,
        settings.success_threshold,
        settings.failure_threshold,
    ) == (10, 310, 2, 1, 3)
    assert settings.auth_enabled is True and settings.token_auth_enabled is False
    assert settings.enable_app_insights is False and settings.collect_model_data is False
    assert settings.blobfuse_enabled is True
    payload = settings.payload()
    assert payload["autoScaler"] == {
        "autoscaleEnabled": True,
        "minReplicas": 1,
        "maxReplicas": 10,
        "targetUtilization": 70,
        "refreshPeriodInSeconds": 1,
    }
    assert payload["storageInitEnabled"] is False
    assert payload["maxQueueWaitMs"] == 500


def test_aks_seed_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    config = aks_deploy_configuration(
        cpu_cores=1, memory_gb=1, description="NYC Taxi Fare Predictor Web Service (AKS)"
    )
    settings = config.to_runtime()
    assert (settings.cpu_cores, settings.memory_gb, settings.auth_enabled) == (1, 1, True)
    config.print_deploy_configuration()
    assert capsys.readouterr().out == "CPU requirement: 1, Memory requirement: 1GB\n"
    aks_deploy_configuration(
        cpu_cores=2, gpu_cores=1, memory_gb=4, num_replicas=3
    ).print_deploy_configuration()
    assert capsys.readouterr().out == (
        "CPU requirement: 2, GPU requirement: 1, Memory requirement: 4GB, Number of replica: 3\n"
    )


def test_aks_num_replicas_turns_autoscaling_off() -> None:
    settings = aks_deploy_configuration(num_replicas=3).to_runtime()
    assert settings.autoscale_enabled is False
    assert settings.num_replicas == settings.initial_replicas == 3
    settings = aks_deploy_configuration(autoscale_enabled=False, num_replicas=2).to_runtime()
    assert (settings.autoscale_enabled, settings.num_replicas) == (False, 2)
    settings = aks_deploy_configuration(
        autoscale_enabled=True, autoscale_min_replicas=2, autoscale_max_replicas=4
    ).to_runtime()
    assert (settings.autoscale_enabled, settings.initial_replicas) == (True, 2)
    assert settings.autoscale_max_replicas == 4


def test_aks_token_auth_turns_key_auth_off() -> None:
    settings = aks_deploy_configuration(token_auth_enabled=True).to_runtime()
    assert (settings.auth_enabled, settings.token_auth_enabled) == (False, True)
    settings = aks_deploy_configuration(auth_enabled=False).to_runtime()
    assert (settings.auth_enabled, settings.token_auth_enabled) == (False, False)


@pytest.mark.parametrize(
    ("kwargs", "line"),
    [
        ({"cpu_cores": 0}, "cpu_cores must be greater than zero."),
        (
            {"cpu_cores": 2, "cpu_cores_limit": 1},
            "cpu_cores_limit must be greater than or equal to cpu_cores.",
        ),
        ({"cpu_cores_limit": 0.05}, "cpu_cores_limit must be greater than or equal to cpu_cores."),
        ({"memory_gb": -1}, "memory_gb must be greater than zero."),
        (
            {"memory_gb": 2, "memory_gb_limit": 1},
            "memory_gb_limit must be greater than or equal to memory_gb.",
        ),
        ({"gpu_cores": -1}, "gpu_cores must be greater than or equal to zero."),
        ({"period_seconds": 0}, "period_seconds must be greater than zero."),
        ({"initial_delay_seconds": 0}, "initial_delay_seconds must be greater than zero."),
        ({"timeout_seconds": 0}, "timeout_seconds must be greater than zero."),
        ({"success_threshold": 0}, "success_threshold must be greater than zero."),
        ({"failure_threshold": 0}, "failure_threshold must be greater than zero."),
        ({"scoring_timeout_ms": 0}, "scoring_timeout_ms must be greater than zero."),
        (
            {"replica_max_concurrent_requests": 0},
            "replica_max_concurrent_requests must be greater than zero.",
        ),
        ({"max_request_wait_time": -5}, "max_request_wait_time must be greater than zero."),
        ({"num_replicas": 0}, "num_replicas must be greater than zero."),
        (
            {"namespace": "Bad_Namespace"},
            "namespace must be a valid Kubernetes namespace. Regex for validation is "
            "^[a-z0-9]([a-z0-9-]{,61}[a-z0-9])?$",
        ),
        (
            {"autoscale_enabled": True, "num_replicas": 2},
            "autoscale enabled and num_replicas provided.",
        ),
        (
            {"autoscale_enabled": True, "autoscale_min_replicas": 0},
            "autoscale_min_replicas must be greater than zero.",
        ),
        (
            {"autoscale_enabled": True, "autoscale_max_replicas": 0},
            "autoscale_max_replicas must be greater than zero.",
        ),
        (
            {"autoscale_enabled": True, "autoscale_min_replicas": 5, "autoscale_max_replicas": 2},
            "autoscale_min_replicas cannot be greater than autoscale_max_replicas.",
        ),
        (
            {"autoscale_enabled": True, "autoscale_refresh_seconds": 0},
            "autoscale_refresh_seconds must be greater than zero.",
        ),
        (
            {"autoscale_enabled": True, "autoscale_target_utilization": 0},
            "autoscale_target_utilization must be greater than zero.",
        ),
        ({"autoscale_enabled": False}, "autoscale disabled but num_replicas not provided."),
        (
            {"autoscale_min_replicas": 2},
            "autoscale_min_replicas provided without enabling autoscaling.",
        ),
        (
            {"autoscale_max_replicas": 2},
            "autoscale_max_replicas provided without enabling autoscaling.",
        ),
        (
            {"autoscale_refresh_seconds": 2},
            "autoscale_refresh_seconds provided without enabling autoscaling.",
        ),
        (
            {"autoscale_target_utilization": 50},
            "autoscale_target_utilization provided without enabling autoscaling.",
        ),
        (
            {"auth_enabled": True, "token_auth_enabled": True},
            "auth_enabled and token_auth_enabled cannot both be true.",
        ),
    ],
)
def test_aks_validation_messages(kwargs: dict[str, object], line: str) -> None:
    with pytest.raises(WebserviceException) as caught:
        aks_deploy_configuration(**kwargs)  # type: ignore[arg-type]
    assert caught.value.message == f"Invalid configuration, {line}\n"


def test_aks_reports_every_problem_at_once_in_the_sdks_order() -> None:
    with pytest.raises(WebserviceException) as caught:
        aks_deploy_configuration(
            auth_enabled=True,
            token_auth_enabled=True,
            num_replicas=0,
            memory_gb=0,
            cpu_cores=0,
            autoscale_min_replicas=3,
        )
    assert caught.value.message == (
        "Invalid configuration, cpu_cores must be greater than zero.\n"
        "Invalid configuration, memory_gb must be greater than zero.\n"
        "Invalid configuration, num_replicas must be greater than zero.\n"
        "Invalid configuration, autoscale_min_replicas provided without enabling autoscaling.\n"
        "Invalid configuration, auth_enabled and token_auth_enabled cannot both be true.\n"
    )


def test_aks_accepts_valid_edge_values() -> None:
    aks_deploy_configuration(namespace="a")
    aks_deploy_configuration(namespace="team-1-prod")
    aks_deploy_configuration(gpu_cores=0, cpu_cores=0.5, cpu_cores_limit=0.5)
    aks_deploy_configuration(
        autoscale_enabled=True, autoscale_min_replicas=3, autoscale_max_replicas=3
    )
    with pytest.raises(WebserviceException, match="namespace must be a valid"):
        aks_deploy_configuration(namespace="x" * 64)


def test_aks_minimum_above_the_default_maximum_is_refused() -> None:
    with pytest.raises(WebserviceException) as caught:
        aks_deploy_configuration(autoscale_enabled=True, autoscale_min_replicas=12)
    assert caught.value.message == (
        "Invalid configuration, autoscale_min_replicas cannot be greater than "
        "autoscale_max_replicas.\n"
    )


def test_aks_revalidates_after_changes() -> None:
    config = aks_deploy_configuration(num_replicas=2)
    config.autoscale_enabled = True
    with pytest.raises(WebserviceException, match="autoscale enabled and num_replicas provided"):
        config.validate_configuration()


# -- Local ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("port", [1, 8890, 65535, None])
def test_local_ports(port: int | None) -> None:
    config = local_deploy_configuration(port)
    assert isinstance(config, LocalWebserviceDeploymentConfiguration)
    assert config.port == port and config.compute_type == "Local"


@pytest.mark.parametrize("port", [0, 65536, -1, "8890", 80.0, True])
def test_local_port_must_be_an_integer_in_range(port: object) -> None:
    with pytest.raises(WebserviceException) as caught:
        local_deploy_configuration(port)  # type: ignore[arg-type]
    assert (
        caught.value.message == "Invalid configuration, port must be an integer in range [1, 65535]"
    )


def test_webservice_type_is_attachable_later() -> None:
    class FakeAciWebservice:
        pass

    AciServiceDeploymentConfiguration._webservice_type = FakeAciWebservice
    try:
        assert aci_deploy_configuration()._webservice_type is FakeAciWebservice
    finally:
        AciServiceDeploymentConfiguration._webservice_type = None
