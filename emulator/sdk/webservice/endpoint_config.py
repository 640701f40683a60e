"""``AksEndpoint.deploy_configuration`` → ``AksEndpointDeploymentConfiguration``: an AKS
service configuration for the endpoint's first version, plus that version's name and share of
the traffic.

The parameters, their order and the checks are the SDK's (azureml-core 1.61,
``azureml/core/webservice/aks.py``): everything an AKS service takes, then ``version_name``,
``traffic_percentile`` (0 to 100), ``compute_target_name``, ``cpu_cores_limit`` and
``memory_gb_limit``. Without ``version_name`` the first version is named after the endpoint.
"""

from __future__ import annotations

from typing import Any

from emulator.sdk.exceptions import WebserviceException
from emulator.sdk.webservice_config.aks import AksServiceDeploymentConfiguration

#: ``computeType`` of an AKS endpoint (the SDK's ``AKS_ENDPOINT_TYPE``).
AKS_ENDPOINT_TYPE = "AKSENDPOINT"


def check_percentile(traffic_percentile: float | None) -> None:
    """The SDK's range check of ``traffic_percentile`` (it skips 0 and ``None``)."""
    if traffic_percentile and not isinstance(traffic_percentile, (int, float)):
        raise WebserviceException(
            f"Invalid configuration, traffic_percentile must be a number from 0 to 100, not "
            f"{traffic_percentile!r}.\n"
        )
    if traffic_percentile and (traffic_percentile < 0 or traffic_percentile > 100):
        raise WebserviceException(
            "Invalid configuration, traffic_percentile cannot be negative or greater than 100.\n"
        )


class AksEndpointDeploymentConfiguration(AksServiceDeploymentConfiguration):
    """Deployment settings of an AKS endpoint and its first version."""

    compute_type = AKS_ENDPOINT_TYPE

    def __init__(
        self,
        autoscale_enabled: bool | None,
        autoscale_min_replicas: int | None,
        autoscale_max_replicas: int | None,
        autoscale_refresh_seconds: int | None,
        autoscale_target_utilization: int | None,
        collect_model_data: bool | None,
        auth_enabled: bool | None,
        cpu_cores: float | None,
        memory_gb: float | None,
        enable_app_insights: bool | None,
        scoring_timeout_ms: int | None,
        replica_max_concurrent_requests: int | None,
        max_request_wait_time: int | None,
        num_replicas: int | None,
        primary_key: str | None,
        secondary_key: str | None,
        tags: dict[str, str] | None,
        properties: dict[str, str] | None,
        description: str | None,
        gpu_cores: int | None,
        period_seconds: int | None,
        initial_delay_seconds: int | None,
        timeout_seconds: int | None,
        success_threshold: int | None,
        failure_threshold: int | None,
        namespace: str | None,
        token_auth_enabled: bool | None,
        version_name: str | None,
        traffic_percentile: float | None,
        compute_target_name: str | None,
        cpu_cores_limit: float | None,
        memory_gb_limit: float | None,
    ) -> None:
        self.version_name = version_name
        self.traffic_percentile = traffic_percentile
        super().__init__(
            autoscale_enabled,
            autoscale_min_replicas,
            autoscale_max_replicas,
            autoscale_refresh_seconds,
            autoscale_target_utilization,
            collect_model_data,
            auth_enabled,
            cpu_cores,
            memory_gb,
            enable_app_insights,
            scoring_timeout_ms,
            replica_max_concurrent_requests,
            max_request_wait_time,
            num_replicas,
            primary_key,
            secondary_key,
            tags,
            properties,
            description,
            gpu_cores,
            period_seconds,
            initial_delay_seconds,
            timeout_seconds,
            success_threshold,
            failure_threshold,
            namespace,
            token_auth_enabled,
            compute_target_name,
            cpu_cores_limit,
            memory_gb_limit,
        )
        self.validate_endpoint_configuration()

    def validate_endpoint_configuration(self) -> None:
        """The SDK's checks of the version name and its traffic share."""
        if self.version_name:
            from emulator.sdk.webservice.base import validate_service_name

            validate_service_name(self.version_name)
        check_percentile(self.traffic_percentile)


def aks_endpoint_deploy_configuration(
    autoscale_enabled: bool | None = None,
    autoscale_min_replicas: int | None = None,
    autoscale_max_replicas: int | None = None,
    autoscale_refresh_seconds: int | None = None,
    autoscale_target_utilization: int | None = None,
    collect_model_data: bool | None = None,
    auth_enabled: bool | None = None,
    cpu_cores: float | None = None,
    memory_gb: float | None = None,
    enable_app_insights: bool | None = None,
    scoring_timeout_ms: int | None = None,
    replica_max_concurrent_requests: int | None = None,
    max_request_wait_time: int | None = None,
    num_replicas: int | None = None,
    primary_key: str | None = None,
    secondary_key: str | None = None,
    tags: dict[str, str] | None = None,
    properties: dict[str, str] | None = None,
    description: str | None = None,
    gpu_cores: int | None = None,
    period_seconds: int | None = None,
    initial_delay_seconds: int | None = None,
    timeout_seconds: int | None = None,
    success_threshold: int | None = None,
    failure_threshold: int | None = None,
    namespace: str | None = None,
    token_auth_enabled: bool | None = None,
    version_name: str | None = None,
    traffic_percentile: float | None = None,
    compute_target_name: str | None = None,
    cpu_cores_limit: float | None = None,
    memory_gb_limit: float | None = None,
) -> AksEndpointDeploymentConfiguration:
    """``AksEndpoint.deploy_configuration``: the SDK's parameters, in its order."""
    arguments: dict[str, Any] = dict(locals())
    return AksEndpointDeploymentConfiguration(**arguments)
