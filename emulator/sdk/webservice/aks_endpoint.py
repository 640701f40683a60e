"""``AksEndpoint``: several versions of a service behind one scoring URI on an AKS cluster,
each taking a percentage of the traffic (the SDK v1's controlled rollout, A/B tests).

The endpoint is a service record (``computeType`` ``AKSENDPOINT``) that owns no replicas; each
version is an AKS service of its own (record ``<endpoint>.<version>``: a dot no user service
name may contain, so versions never collide with services, and a version may share its
endpoint's name as the SDK's default naming does), deployed with the endpoint's keys and auth,
carrying its ``trafficPercentile``, ``isDefault`` and ``type`` in its settings. The endpoint's
scoring URI (``/api/v1/service/<endpoint>/score`` on the cluster's router) is a
:class:`~emulator.services.split.SplitRoute` that sends each request to a version by the shares
of :mod:`emulator.sdk.webservice.rollout`, set where the versions or their shares change (a
version deployed, updated or deleted: :func:`~emulator.sdk.webservice.endpoint_versions.
sync_route`), never on a read. Endpoints live in the process that deploys them (they are not
handed over to the root's daemon).

Measured against azureml-core 1.61 (``azureml/core/webservice/aks.py``): method signatures,
the client-side checks and messages (no version name, nothing to update, percentile range, the
default / control switching) and the version payload fields (``isDefault``,
``trafficPercentile``, ``type`` = ``Control`` / ``Treatment``).
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

from emulator.exceptions import EmulatorError
from emulator.sdk.exceptions import WebserviceException
from emulator.sdk.translation import to_v1, v1_errors
from emulator.sdk.webservice import endpoint_versions as ev
from emulator.sdk.webservice.aks import AksWebservice
from emulator.sdk.webservice.base import Webservice, services, validate_service_name
from emulator.sdk.webservice.endpoint_config import (
    AKS_ENDPOINT_TYPE,
    AksEndpointDeploymentConfiguration,
    aks_endpoint_deploy_configuration,
    check_percentile,
)
from emulator.sdk.webservice.rollout import CONTROL, TREATMENT, VersionTraffic

if TYPE_CHECKING:
    from emulator.sdk.workspace import Workspace


class AksEndpoint(AksWebservice):
    """An AKS endpoint: ``versions`` (name -> ``AksWebservice``) behind one scoring URI."""

    _webservice_type = AKS_ENDPOINT_TYPE
    deploy_configuration = staticmethod(aks_endpoint_deploy_configuration)  # type: ignore[assignment]

    class VersionType(Enum):
        """Whether a version is the endpoint's control version or a treatment."""

        control = CONTROL
        treatment = TREATMENT

    # -- creating ---------------------------------------------------------------------------------

    @classmethod
    @v1_errors()
    def _deploy(
        cls,
        workspace: Workspace,
        name: str,
        image: Any,
        config: Any,
        target: Any,
        overwrite: bool,
    ) -> Webservice:
        if not isinstance(config, AksEndpointDeploymentConfiguration):
            raise WebserviceException(
                "Error, provided deployment configuration must be of type "
                "AksEndpointDeploymentConfiguration in order to deploy an AKS endpoint."
            )
        config.validate_configuration()
        config.validate_endpoint_configuration()
        compute_name = getattr(target, "name", None) or config.compute_target_name
        if not compute_name:
            raise WebserviceException("Must have a deployment target for an AKS endpoint.")
        if config.token_auth_enabled:
            raise WebserviceException(ev.NO_TOKEN_AUTH)
        manager = services(workspace)
        existing = manager.registry.get(name)
        if existing is not None:
            if not overwrite:
                raise WebserviceException(
                    f"Service {name} with the same name already exists, please use a different "
                    "service name or delete the existing service. [emulator] Or pass "
                    "overwrite=True to replace it.",
                    status_code=409,
                )
            ev.delete_service(manager, existing)
        version_name = config.version_name or name
        settings = config.to_runtime()
        endpoint = ev.create_endpoint(manager, name, compute_name, settings)
        try:
            ev.deploy_version(
                workspace,
                endpoint,
                version_name,
                image,
                config,
                VersionTraffic(config.traffic_percentile, True, TREATMENT),
            )
        except Exception:
            ev.delete_service(manager, endpoint)
            raise
        return cls._from_record(workspace, manager.registry.get(name) or endpoint)

    def _bind_settings(self, settings: dict[str, Any]) -> None:
        manager = self._manager
        self.compute_name = settings.get("computeName")
        self.enable_app_insights = settings.get("appInsightsEnabled", False)
        self.namespace = settings.get("namespace")
        self.deployment_status = None
        records = ev.version_records(manager, self._record)
        self.versions: dict[str, AksWebservice] = {}
        for version_name, record in records.items():
            version = Webservice._from_record(self.workspace, record)
            assert isinstance(version, AksWebservice)
            version.name = version_name
            self.versions[version_name] = version
        self._record = ev.settle_state(manager, self._record, records)
        self.state = self._record.state.value
        self.error = self._record.error

    # -- versions ---------------------------------------------------------------------------------

    def create_version(
        self,
        version_name: str,
        autoscale_enabled: bool | None = None,
        autoscale_min_replicas: int | None = None,
        autoscale_max_replicas: int | None = None,
        autoscale_refresh_seconds: int | None = None,
        autoscale_target_utilization: int | None = None,
        collect_model_data: bool | None = None,
        cpu_cores: float | None = None,
        memory_gb: float | None = None,
        scoring_timeout_ms: int | None = None,
        replica_max_concurrent_requests: int | None = None,
        max_request_wait_time: int | None = None,
        num_replicas: int | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        models: list[Any] | None = None,
        inference_config: Any = None,
        gpu_cores: int | None = None,
        period_seconds: int | None = None,
        initial_delay_seconds: int | None = None,
        timeout_seconds: int | None = None,
        success_threshold: int | None = None,
        failure_threshold: int | None = None,
        traffic_percentile: float | None = None,
        is_default: bool | None = None,
        is_control_version_type: bool | None = None,
        cpu_cores_limit: float | None = None,
        memory_gb_limit: float | None = None,
    ) -> None:
        """Deploy a new version (``models`` with ``inference_config``; no-code without one)."""
        if version_name is None:
            raise WebserviceException(
                f"No name is provided to create a version in an Endpoint {self.name}"
            )
        validate_service_name(version_name)
        check_percentile(traffic_percentile)
        self.update_deployment_state()
        if version_name in self.versions:
            raise WebserviceException(
                f"Version {version_name} already exists in endpoint {self.name}. Change it with "
                "update_version, or delete_version it first."
            )
        config = ev.version_configuration(
            self._record,
            autoscale_enabled=autoscale_enabled,
            autoscale_min_replicas=autoscale_min_replicas,
            autoscale_max_replicas=autoscale_max_replicas,
            autoscale_refresh_seconds=autoscale_refresh_seconds,
            autoscale_target_utilization=autoscale_target_utilization,
            collect_model_data=collect_model_data,
            cpu_cores=cpu_cores,
            memory_gb=memory_gb,
            scoring_timeout_ms=scoring_timeout_ms,
            replica_max_concurrent_requests=replica_max_concurrent_requests,
            max_request_wait_time=max_request_wait_time,
            num_replicas=num_replicas,
            tags=tags,
            properties=properties,
            description=description,
            gpu_cores=gpu_cores,
            period_seconds=period_seconds,
            initial_delay_seconds=initial_delay_seconds,
            timeout_seconds=timeout_seconds,
            success_threshold=success_threshold,
            failure_threshold=failure_threshold,
            cpu_cores_limit=cpu_cores_limit,
            memory_gb_limit=memory_gb_limit,
        )
        traffic = ev.traffic_of(self.versions)
        traffic = ev.with_roles(traffic, version_name, is_default, is_control_version_type)
        new = traffic[version_name] = VersionTraffic(
            traffic_percentile,
            bool(is_default),
            CONTROL if is_control_version_type else TREATMENT,
        )
        ev.check_traffic(self.name, traffic)
        image = ev.package(self.workspace, version_name, models or [], inference_config)
        with v1_errors():
            ev.deploy_version(self.workspace, self._record, version_name, image, config, new)
            ev.apply_traffic(self._manager, self._record, traffic)
        self.update_deployment_state()

    def update_version(
        self,
        version_name: str,
        autoscale_enabled: bool | None = None,
        autoscale_min_replicas: int | None = None,
        autoscale_max_replicas: int | None = None,
        autoscale_refresh_seconds: int | None = None,
        autoscale_target_utilization: int | None = None,
        collect_model_data: bool | None = None,
        cpu_cores: float | None = None,
        memory_gb: float | None = None,
        scoring_timeout_ms: int | None = None,
        replica_max_concurrent_requests: int | None = None,
        max_request_wait_time: int | None = None,
        num_replicas: int | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        models: list[Any] | None = None,
        inference_config: Any = None,
        gpu_cores: int | None = None,
        period_seconds: int | None = None,
        initial_delay_seconds: int | None = None,
        timeout_seconds: int | None = None,
        success_threshold: int | None = None,
        failure_threshold: int | None = None,
        traffic_percentile: float | None = None,
        is_default: bool | None = None,
        is_control_version_type: bool | None = None,
        cpu_cores_limit: float | None = None,
        memory_gb_limit: float | None = None,
    ) -> None:
        """Change a version: its share and role at once, its settings or model by a rolling
        update of its replicas (the old ones serve until the new are ready)."""
        if version_name is None:
            raise WebserviceException("No name is provided to update a version.")
        settings = {
            "autoscale_enabled": autoscale_enabled,
            "autoscale_min_replicas": autoscale_min_replicas,
            "autoscale_max_replicas": autoscale_max_replicas,
            "autoscale_refresh_seconds": autoscale_refresh_seconds,
            "autoscale_target_utilization": autoscale_target_utilization,
            "collect_model_data": collect_model_data,
            "cpu_cores": cpu_cores,
            "memory_gb": memory_gb,
            "scoring_timeout_ms": scoring_timeout_ms,
            "replica_max_concurrent_requests": replica_max_concurrent_requests,
            "max_request_wait_time": max_request_wait_time,
            "num_replicas": num_replicas,
            "tags": tags,
            "properties": properties,
            "description": description,
            "gpu_cores": gpu_cores,
            "period_seconds": period_seconds,
            "initial_delay_seconds": initial_delay_seconds,
            "timeout_seconds": timeout_seconds,
            "success_threshold": success_threshold,
            "failure_threshold": failure_threshold,
            "cpu_cores_limit": cpu_cores_limit,
            "memory_gb_limit": memory_gb_limit,
        }
        roles = (traffic_percentile, is_default, is_control_version_type)
        if (
            all(value is None for value in settings.values())
            and models is None
            and inference_config is None
            and all(value is None for value in roles)
        ):
            raise WebserviceException("No parameters provided to update a version.")
        check_percentile(traffic_percentile)
        self.update_deployment_state()
        version = ev.version_named(self, version_name)
        traffic = ev.traffic_of(self.versions)
        traffic = ev.with_roles(traffic, version_name, is_default, is_control_version_type)
        ev.check_traffic(self.name, ev.changed(traffic, version_name, traffic_percentile))
        if any(value is not None for value in settings.values()) or models or inference_config:
            ev.roll(self.workspace, version, models, inference_config, settings)
        with v1_errors():
            ev.apply_traffic(
                self._manager, self._record, ev.changed(traffic, version_name, traffic_percentile)
            )
        self.update_deployment_state()

    def delete_version(self, version_name: str) -> None:
        """Stop a version's replicas and remove it; its share goes back to the default one."""
        if version_name is None:
            raise WebserviceException(
                f"No name is provided to delete a version in an Endpoint {self.name}"
            )
        self.update_deployment_state()
        version = ev.version_named(self, version_name)
        if len(self.versions) == 1:
            raise WebserviceException(
                f"Version {version_name} is the only version of endpoint {self.name}. "
                "[emulator] Delete the endpoint instead (endpoint.delete())."
            )
        if version.is_default:
            raise WebserviceException(
                f"Version {version_name} is the default version of endpoint {self.name}. "
                "[emulator] Make another version the default first "
                "(update_version(<name>, is_default=True))."
            )
        ev.remove_version(self._manager, self._record, version.emulator_record)
        self.update_deployment_state()

    # -- the endpoint -----------------------------------------------------------------------------

    def update(  # type: ignore[override]
        self,
        auth_enabled: bool | None = None,
        token_auth_enabled: bool | None = None,
        enable_app_insights: bool | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
    ) -> None:
        """Change the endpoint's key auth (for every version at once), Application Insights
        flag, description, tags, or add properties."""
        if (
            auth_enabled is None
            and enable_app_insights is None
            and tags is None
            and properties is None
            and not description
            and token_auth_enabled is None
        ):
            raise WebserviceException("No parameters provided to update.")
        if token_auth_enabled:
            raise WebserviceException(ev.NO_TOKEN_AUTH)
        with v1_errors():
            record = ev.update_endpoint(
                self._manager,
                self._record,
                auth_enabled=auth_enabled,
                enable_app_insights=enable_app_insights,
                description=description or None,
                tags=tags,
                properties=properties,
            )
        self._bind(self.workspace, record)

    def regen_key(self, key: str, set_key: str | None = None) -> None:
        """Regenerate the endpoint's key; every version takes it at once (they share keys)."""
        super().regen_key(key, set_key)
        try:
            ev.share_keys(self._manager, self._record)
        except EmulatorError as exc:
            raise to_v1(exc) from exc

    def delete(self) -> None:
        """Stop every version and remove the endpoint."""
        record = self._manager.registry.get(self.name)
        if record is None:
            print(f"No service with name {self.name} found to delete.")
            return
        ev.delete_service(self._manager, record)
        self.state = "Deleting"

    def get_access_token(self) -> Any:
        raise WebserviceException(ev.NO_TOKEN_AUTH)

    def serialize(self) -> dict[str, Any]:
        """The SDK's endpoint payload, the versions serialized as AKS services."""
        return {
            "name": self.name,
            "description": self.description,
            "tags": self.tags,
            "properties": self.properties,
            "state": self.state,
            "createdTime": self._record.created_time,
            "updatedTime": self._record.updated_time,
            "error": self.error,
            "computeName": self.compute_name,
            "computeType": self.compute_type,
            "workspaceName": self.workspace.name,
            "deploymentStatus": self.deployment_status,
            "scoringUri": self.scoring_uri,
            "authEnabled": self.auth_enabled,
            "aadAuthEnabled": self.token_auth_enabled,
            "appInsightsEnabled": self.enable_app_insights,
            "versions": {name: v.serialize() for name, v in self.versions.items()},
        }
