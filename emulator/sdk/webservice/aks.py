"""``AksWebservice``: a service on an AKS cluster, behind the cluster's router."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from emulator.environments.environment import Environment
from emulator.runtime.probes import ProbeSettings
from emulator.sdk.exceptions import WebserviceException
from emulator.sdk.webservice.aks_status import image_environment, replica_status
from emulator.sdk.webservice.base import Webservice
from emulator.sdk.webservice_config import (
    AksServiceDeploymentConfiguration,
    aks_deploy_configuration,
)
from emulator.sdk.webservice_config.data_collection import DataCollection
from emulator.server.telemetry import service_environment as app_insights_environment
from emulator.services.auth import AccessToken
from emulator.services.grpc_gateway import GRPC
from emulator.services.manager import DeploymentSpec
from emulator.services.settings import ServiceSettings

if TYPE_CHECKING:
    from emulator.sdk.workspace import Workspace


class AksWebservice(Webservice):
    """An AKS service: key auth on by default, replicas, autoscaling, the router's limits."""

    _webservice_type = "AKS"
    deploy_configuration = staticmethod(aks_deploy_configuration)

    @classmethod
    def _spec(cls, workspace: Workspace, config: Any, target: Any) -> DeploymentSpec:
        if not isinstance(config, AksServiceDeploymentConfiguration):
            raise WebserviceException(
                "Error, provided deployment configuration must be of type "
                "AksServiceDeploymentConfiguration in order to deploy an AKS service."
            )
        settings = config.to_runtime()
        compute_name = getattr(target, "name", None) or settings.compute_target_name
        if not compute_name:
            raise WebserviceException("Must have a deployment target for an AKS web service.")
        auth_mode = (
            "token" if settings.token_auth_enabled else ("key" if settings.auth_enabled else "off")
        )
        return DeploymentSpec(
            compute_type="AKS",
            replicas=settings.initial_replicas,
            route=ServiceSettings(
                replica_max_concurrent_requests=settings.replica_max_concurrent_requests,
                max_request_wait_time=settings.max_request_wait_time,
                scoring_timeout_ms=settings.scoring_timeout_ms,
                autoscale_enabled=settings.autoscale_enabled,
                autoscale_min_replicas=settings.autoscale_min_replicas,
                autoscale_max_replicas=settings.autoscale_max_replicas,
                autoscale_refresh_seconds=settings.autoscale_refresh_seconds,
                autoscale_target_utilization=settings.autoscale_target_utilization,
            ),
            auth_mode=auth_mode,
            environment=app_insights_environment(workspace) if settings.enable_app_insights else {},
            # Requests are scheduling hints in Kubernetes; only limits cap a container.
            cpu_cores=settings.cpu_cores_limit,
            memory_gb=settings.memory_gb_limit or settings.memory_gb,
            liveness=ProbeSettings(
                period_seconds=settings.period_seconds,
                initial_delay_seconds=settings.initial_delay_seconds,
                timeout_seconds=settings.timeout_seconds,
                success_threshold=settings.success_threshold,
                failure_threshold=settings.failure_threshold,
            ),
            compute_name=compute_name,
            settings={**settings.payload(), "computeName": compute_name},
            description=settings.description,
            tags=settings.tags,
            properties=settings.properties,
            primary_key=settings.primary_key,
            secondary_key=settings.secondary_key,
            cpu_request=settings.cpu_cores,
            memory_request=settings.memory_gb,
        )

    def _bind_settings(self, settings: dict[str, Any]) -> None:
        scaler = settings.get("autoScaler") or {}
        self.compute_name = settings.get("computeName")
        self.container_resource_requirements = settings.get("containerResourceRequirements") or {}
        self.autoscaler = scaler
        self.max_concurrent_requests_per_container = settings.get(
            "maxConcurrentRequestsPerContainer"
        )
        self.max_request_wait_time = settings.get("maxQueueWaitMs")
        self.scoring_timeout_ms = settings.get("scoringTimeoutMs")
        self.liveness_probe_requirements = settings.get("livenessProbeRequirements")
        self.namespace = settings.get("namespace")
        self.enable_app_insights = settings.get("appInsightsEnabled", False)
        collection = settings.get("dataCollection")
        self.data_collection = (
            DataCollection.deserialize({"eventHubEnabled": False, **collection})
            if collection
            else None
        )
        deployment = self._manager.deployment(self.name)
        self.num_replicas = (
            deployment.replica_count if deployment is not None else settings.get("numReplicas")
        )
        self.deployment_status = replica_status(deployment)
        # A version of an AksEndpoint: its share of the endpoint's traffic and its role.
        self.is_default = settings.get("isDefault")
        self.traffic_percentile = settings.get("trafficPercentile")
        self.version_type = settings.get("type")
        #: [emulator] The port of the cluster's gRPC endpoint (accelerated services only; on
        #: the scoring URI's host). Azure serves gRPC on the scoring URI's port 80.
        self.grpc_port = GRPC.port(
            self._manager.root.path, self._manager.workspace_id, self.compute_name, self.name
        )

    @property
    def environment(self) -> Environment | None:
        """The environment the service's image was built from (``None`` for a legacy image
        configuration's image)."""
        return image_environment(self.workspace, self.image_id)

    @property
    def scale_history(self) -> list[Any]:
        """[emulator] The autoscaler's decisions (time, from, to, reason, utilization)."""
        deployment = self._manager.deployment(self.name)
        if deployment is None or deployment.route is None or deployment.route.autoscaler is None:
            return []
        return list(deployment.route.autoscaler.history)

    def run(self, input_data: Any) -> Any:
        """POST ``input_data`` to the scoring URI (the SDK's name for it on every service type)."""
        return super().run(input_data)

    def get_token(self) -> tuple[str, datetime]:
        """A bearer token for token auth, and when to refresh it."""
        token = self.get_access_token()
        return token.access_token, datetime.fromtimestamp(token.refresh_after, timezone.utc)

    def get_access_token(self) -> AccessToken:
        if not self.token_auth_enabled:
            raise WebserviceException(
                "Error, token auth is not enabled for this service. [emulator] Deploy with "
                "token_auth_enabled=True (and auth_enabled=False)."
            )
        record = self._manager.get(self.name) or self._record
        return self._manager.auth(record).issue_access_token()

    def update(
        self,
        image: Any = None,
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
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        models: Any = None,
        inference_config: Any = None,
        gpu_cores: int | None = None,
        period_seconds: int | None = None,
        initial_delay_seconds: int | None = None,
        timeout_seconds: int | None = None,
        success_threshold: int | None = None,
        failure_threshold: int | None = None,
        namespace: str | None = None,
        token_auth_enabled: bool | None = None,
        cpu_cores_limit: float | None = None,
        memory_gb_limit: float | None = None,
        **kwargs: Any,
    ) -> None:
        """Change any deployment setting (or the image); new replicas take over when healthy.
        The parameters are the SDK's, in its order."""
        arguments = dict(locals())
        settings = {
            key: value
            for key, value in arguments.items()
            if key not in ("self", "image", "models", "inference_config", "kwargs", "__class__")
        }
        settings.update(kwargs)
        if (
            image is None
            and models is None
            and inference_config is None
            and all(value is None for value in settings.values())
        ):
            raise WebserviceException("No parameters provided to update.")
        if settings.get("token_auth_enabled") and settings.get("auth_enabled", self.auth_enabled):
            raise WebserviceException(
                "Error, cannot set token_auth_enabled without disabling key auth (set "
                "auth_enabled to False)."
            )
        current = self._current_configuration()
        merged = {**current, **{k: v for k, v in settings.items() if v is not None}}
        if merged.get("num_replicas") is not None and settings.get("num_replicas") is not None:
            merged["autoscale_enabled"] = False
            for key in (
                "autoscale_min_replicas",
                "autoscale_max_replicas",
                "autoscale_refresh_seconds",
                "autoscale_target_utilization",
            ):
                merged.pop(key, None)
        if not merged.get("autoscale_enabled", True):
            for key in (
                "autoscale_min_replicas",
                "autoscale_max_replicas",
                "autoscale_refresh_seconds",
                "autoscale_target_utilization",
            ):
                merged.pop(key, None)
        try:
            config = aks_deploy_configuration(**merged)
        except WebserviceException as exc:
            raise WebserviceException(
                exc.message.replace("Invalid configuration, ", "Error, ")
            ) from exc
        self._apply_update(config, image, models, inference_config)

    def _current_configuration(self) -> dict[str, Any]:
        s = self._record.settings
        scaler = s.get("autoScaler") or {}
        resources = s.get("containerResourceRequirements") or {}
        probe = s.get("livenessProbeRequirements") or {}
        config: dict[str, Any] = {
            "auth_enabled": s.get("authEnabled"),
            "token_auth_enabled": s.get("aadAuthEnabled"),
            "enable_app_insights": s.get("appInsightsEnabled"),
            "collect_model_data": (s.get("dataCollection") or {}).get("storageEnabled"),
            "cpu_cores": resources.get("cpu"),
            "cpu_cores_limit": resources.get("cpuLimit"),
            "memory_gb": resources.get("memoryInGB"),
            "memory_gb_limit": resources.get("memoryInGBLimit"),
            "scoring_timeout_ms": s.get("scoringTimeoutMs"),
            "replica_max_concurrent_requests": s.get("maxConcurrentRequestsPerContainer"),
            "max_request_wait_time": s.get("maxQueueWaitMs"),
            "period_seconds": probe.get("periodSeconds"),
            "initial_delay_seconds": probe.get("initialDelaySeconds"),
            "timeout_seconds": probe.get("timeoutSeconds"),
            "success_threshold": probe.get("successThreshold"),
            "failure_threshold": probe.get("failureThreshold"),
            "compute_target_name": s.get("computeName"),
            "tags": self.tags,
            "properties": self.properties,
            "description": self.description,
        }
        if scaler.get("autoscaleEnabled"):
            config.update(
                autoscale_enabled=True,
                autoscale_min_replicas=scaler.get("minReplicas"),
                autoscale_max_replicas=scaler.get("maxReplicas"),
                autoscale_refresh_seconds=scaler.get("refreshPeriodInSeconds"),
                autoscale_target_utilization=scaler.get("targetUtilization"),
            )
        else:
            config.update(autoscale_enabled=False, num_replicas=s.get("numReplicas"))
        return config
