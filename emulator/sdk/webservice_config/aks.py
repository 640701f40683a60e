"""``AksWebservice.deploy_configuration`` → ``AksServiceDeploymentConfiguration``.

Validation follows the SDK: every problem found is one ``Invalid configuration, ...`` line and
all of them are raised together in one ``WebserviceException`` (at construction, and again by
``validate_configuration()``). The service's defaults (:class:`AksSettings`): autoscaling
between 1 and 10 replicas at 70 % utilization, re-evaluated every second, unless
``num_replicas`` is given; 0.1 vCPU and 0.5 GB per replica; one request in flight per replica,
500 ms of queueing, a 60 s scoring timeout; liveness probe every 10 s after 310 s (timeout 2 s,
1 success, 3 failures); key auth on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from emulator.sdk.exceptions import WebserviceException
from emulator.sdk.webservice_config.base import WebserviceDeploymentConfiguration, check_number

NAMESPACE_REGEX = "^[a-z0-9]([a-z0-9-]{,61}[a-z0-9])?$"

_POSITIVE = (
    "period_seconds",
    "initial_delay_seconds",
    "timeout_seconds",
    "success_threshold",
    "failure_threshold",
)
_QUEUEING = ("scoring_timeout_ms", "replica_max_concurrent_requests", "max_request_wait_time")
_AUTOSCALE = (
    "autoscale_min_replicas",
    "autoscale_max_replicas",
    "autoscale_refresh_seconds",
    "autoscale_target_utilization",
)
_NUMBERS = (
    "cpu_cores",
    "cpu_cores_limit",
    "memory_gb",
    "memory_gb_limit",
    "gpu_cores",
    *_POSITIVE,
    *_QUEUEING,
    "num_replicas",
    *_AUTOSCALE,
)


@dataclass(frozen=True)
class AksSettings:
    """What an AKS service runs with: the configuration with Azure's defaults filled in."""

    autoscale_enabled: bool = True
    autoscale_min_replicas: int = 1
    autoscale_max_replicas: int = 10
    autoscale_refresh_seconds: int = 1
    autoscale_target_utilization: int = 70
    #: Fixed replica count; ``None`` while autoscaling.
    num_replicas: int | None = None
    collect_model_data: bool = False
    auth_enabled: bool = True
    token_auth_enabled: bool = False
    cpu_cores: float = 0.1
    #: ``None``: no limit beyond the request.
    cpu_cores_limit: float | None = None
    memory_gb: float = 0.5
    memory_gb_limit: float | None = None
    gpu_cores: int = 0
    enable_app_insights: bool = False
    scoring_timeout_ms: int = 60000
    replica_max_concurrent_requests: int = 1
    #: Milliseconds a request may queue for a replica before 503.
    max_request_wait_time: int = 500
    # Liveness probe.
    period_seconds: int = 10
    initial_delay_seconds: int = 310
    timeout_seconds: int = 2
    success_threshold: int = 1
    failure_threshold: int = 3
    #: ``None``: the cluster's default namespace.
    namespace: str | None = None
    compute_target_name: str | None = None
    blobfuse_enabled: bool = True
    primary_key: str | None = None
    secondary_key: str | None = None
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def initial_replicas(self) -> int:
        """Replicas to start: ``num_replicas``, or the autoscaler's minimum."""
        return self.autoscale_min_replicas if self.num_replicas is None else self.num_replicas

    def payload(self) -> dict[str, Any]:
        """The service's view of these settings, under the REST payload's keys."""
        return {
            "numReplicas": self.num_replicas,
            "dataCollection": {"eventHubEnabled": False, "storageEnabled": self.collect_model_data},
            "appInsightsEnabled": self.enable_app_insights,
            "storageInitEnabled": not self.blobfuse_enabled,
            "autoScaler": {
                "autoscaleEnabled": self.autoscale_enabled,
                "minReplicas": self.autoscale_min_replicas,
                "maxReplicas": self.autoscale_max_replicas,
                "targetUtilization": self.autoscale_target_utilization,
                "refreshPeriodInSeconds": self.autoscale_refresh_seconds,
            },
            "containerResourceRequirements": {
                "cpu": self.cpu_cores,
                "cpuLimit": self.cpu_cores_limit,
                "memoryInGB": self.memory_gb,
                "memoryInGBLimit": self.memory_gb_limit,
                "gpu": self.gpu_cores,
            },
            "maxConcurrentRequestsPerContainer": self.replica_max_concurrent_requests,
            "maxQueueWaitMs": self.max_request_wait_time,
            "namespace": self.namespace,
            "scoringTimeoutMs": self.scoring_timeout_ms,
            "authEnabled": self.auth_enabled,
            "aadAuthEnabled": self.token_auth_enabled,
            "livenessProbeRequirements": {
                "periodSeconds": self.period_seconds,
                "initialDelaySeconds": self.initial_delay_seconds,
                "timeoutSeconds": self.timeout_seconds,
                "failureThreshold": self.failure_threshold,
                "successThreshold": self.success_threshold,
            },
            "computeName": self.compute_target_name,
        }


class AksServiceDeploymentConfiguration(WebserviceDeploymentConfiguration):
    """Deployment settings of an Azure Kubernetes Service web service."""

    compute_type = "AKS"

    def __init__(
        self,
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
        compute_target_name: str | None = None,
        cpu_cores_limit: float | None = None,
        memory_gb_limit: float | None = None,
        blobfuse_enabled: bool | None = None,
    ) -> None:
        super().__init__(None, description, tags, properties, primary_key, secondary_key)
        self.autoscale_enabled = autoscale_enabled
        self.autoscale_min_replicas = autoscale_min_replicas
        self.autoscale_max_replicas = autoscale_max_replicas
        self.autoscale_refresh_seconds = autoscale_refresh_seconds
        self.autoscale_target_utilization = autoscale_target_utilization
        self.collect_model_data = collect_model_data
        self.auth_enabled = auth_enabled
        self.cpu_cores = cpu_cores
        self.memory_gb = memory_gb
        self.enable_app_insights = enable_app_insights
        self.scoring_timeout_ms = scoring_timeout_ms
        self.replica_max_concurrent_requests = replica_max_concurrent_requests
        self.max_request_wait_time = max_request_wait_time
        self.num_replicas = num_replicas
        self.gpu_cores = gpu_cores
        self.period_seconds = period_seconds
        self.initial_delay_seconds = initial_delay_seconds
        self.timeout_seconds = timeout_seconds
        self.success_threshold = success_threshold
        self.failure_threshold = failure_threshold
        self.namespace = namespace
        self.token_auth_enabled = token_auth_enabled
        self.compute_target_name = compute_target_name
        self.cpu_cores_limit = cpu_cores_limit
        self.memory_gb_limit = memory_gb_limit
        self.blobfuse_enabled = blobfuse_enabled
        self.validate_configuration()

    def validate_configuration(self) -> None:
        """Every check of the SDK, in its order; all failures raise together."""
        for name in _NUMBERS:
            check_number(getattr(self, name), name)
        errors = []

        def positive(name: str) -> None:
            value = getattr(self, name)
            if value is not None and value <= 0:
                errors.append(f"{name} must be greater than zero.")

        # Limits are compared with the request the service will use (its default when None).
        positive("cpu_cores")
        cpu = _or(self.cpu_cores, AksSettings.cpu_cores)
        if self.cpu_cores_limit is not None and self.cpu_cores_limit < cpu:
            errors.append("cpu_cores_limit must be greater than or equal to cpu_cores.")
        positive("memory_gb")
        memory = _or(self.memory_gb, AksSettings.memory_gb)
        if self.memory_gb_limit is not None and self.memory_gb_limit < memory:
            errors.append("memory_gb_limit must be greater than or equal to memory_gb.")
        if self.gpu_cores is not None and self.gpu_cores < 0:
            errors.append("gpu_cores must be greater than or equal to zero.")
        for name in _POSITIVE:
            positive(name)
        if self.namespace and not re.match(NAMESPACE_REGEX, self.namespace):
            errors.append(
                "namespace must be a valid Kubernetes namespace. Regex for validation is "
                + NAMESPACE_REGEX
            )
        for name in (*_QUEUEING, "num_replicas"):
            positive(name)
        if self.autoscale_enabled:
            if self.num_replicas:
                errors.append("autoscale enabled and num_replicas provided.")
            positive("autoscale_min_replicas")
            positive("autoscale_max_replicas")
            low = _or(self.autoscale_min_replicas, AksSettings.autoscale_min_replicas)
            high = _or(self.autoscale_max_replicas, AksSettings.autoscale_max_replicas)
            if low > 0 and high > 0 and low > high:
                errors.append(
                    "autoscale_min_replicas cannot be greater than autoscale_max_replicas."
                )
            positive("autoscale_refresh_seconds")
            positive("autoscale_target_utilization")
        else:
            if self.autoscale_enabled is not None and not self.num_replicas:
                errors.append("autoscale disabled but num_replicas not provided.")
            for name in _AUTOSCALE:
                if getattr(self, name) is not None:
                    errors.append(f"{name} provided without enabling autoscaling.")
        if self.auth_enabled and self.token_auth_enabled:
            errors.append("auth_enabled and token_auth_enabled cannot both be true.")
        if errors:
            raise WebserviceException(
                "".join(f"Invalid configuration, {error}\n" for error in errors)
            )

    def print_deploy_configuration(self) -> None:
        parts = []
        if self.cpu_cores:
            parts.append(f"CPU requirement: {self.cpu_cores}")
        if self.gpu_cores:
            parts.append(f"GPU requirement: {self.gpu_cores}")
        if self.memory_gb:
            parts.append(f"Memory requirement: {self.memory_gb}GB")
        if self.num_replicas:
            parts.append(f"Number of replica: {self.num_replicas}")
        if parts:
            print(", ".join(parts))

    def to_runtime(self) -> AksSettings:
        """The settings the service runs with (Azure's defaults for what was left ``None``)."""
        d = AksSettings()
        autoscale = (
            self.num_replicas is None
            if self.autoscale_enabled is None
            else bool(self.autoscale_enabled)
        )
        token = bool(self.token_auth_enabled)
        return AksSettings(
            autoscale_enabled=autoscale,
            autoscale_min_replicas=_or(self.autoscale_min_replicas, d.autoscale_min_replicas),
            autoscale_max_replicas=_or(self.autoscale_max_replicas, d.autoscale_max_replicas),
            autoscale_refresh_seconds=_or(
                self.autoscale_refresh_seconds, d.autoscale_refresh_seconds
            ),
            autoscale_target_utilization=_or(
                self.autoscale_target_utilization, d.autoscale_target_utilization
            ),
            num_replicas=None if autoscale else self.num_replicas,
            collect_model_data=bool(self.collect_model_data),
            auth_enabled=(not token) if self.auth_enabled is None else bool(self.auth_enabled),
            token_auth_enabled=token,
            cpu_cores=_or(self.cpu_cores, d.cpu_cores),
            cpu_cores_limit=self.cpu_cores_limit,
            memory_gb=_or(self.memory_gb, d.memory_gb),
            memory_gb_limit=self.memory_gb_limit,
            gpu_cores=_or(self.gpu_cores, d.gpu_cores),
            enable_app_insights=bool(self.enable_app_insights),
            scoring_timeout_ms=_or(self.scoring_timeout_ms, d.scoring_timeout_ms),
            replica_max_concurrent_requests=_or(
                self.replica_max_concurrent_requests, d.replica_max_concurrent_requests
            ),
            max_request_wait_time=_or(self.max_request_wait_time, d.max_request_wait_time),
            period_seconds=_or(self.period_seconds, d.period_seconds),
            initial_delay_seconds=_or(self.initial_delay_seconds, d.initial_delay_seconds),
            timeout_seconds=_or(self.timeout_seconds, d.timeout_seconds),
            success_threshold=_or(self.success_threshold, d.success_threshold),
            failure_threshold=_or(self.failure_threshold, d.failure_threshold),
            namespace=self.namespace,
            compute_target_name=self.compute_target_name,
            blobfuse_enabled=True if self.blobfuse_enabled is None else bool(self.blobfuse_enabled),
            primary_key=self.primary_key,
            secondary_key=self.secondary_key,
            description=self.description,
            tags=dict(self.tags or {}),
            properties=dict(self.properties or {}),
        )


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


#: ``AksWebservice.deploy_configuration``: the SDK's factory takes exactly the
#: constructor's parameters; the configuration validates itself at once, defaults are left to
#: the service.
aks_deploy_configuration = AksServiceDeploymentConfiguration
