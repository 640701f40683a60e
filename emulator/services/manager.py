"""Deploying, updating and deleting the web services of one workspace.

The SDK faces translate deployment configurations into a :class:`DeploymentSpec` and call a
:class:`ServiceManager`; it keeps the service record (SQLite) and the live deployment (this
process) in step: a record is created ``Transitioning``, the image is awaited (``Model.deploy``
builds one first), AKS replicas are scheduled on the cluster's nodes (``Unschedulable``
otherwise), replicas start behind a gateway, and the record follows the replicas' state.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from emulator.compute.registry import ComputeRegistry
from emulator.compute.scheduling import UNSCHEDULABLE_MESSAGE
from emulator.exceptions import BadArgument, Conflict, EmulatorError, OperationFailed
from emulator.images.build import log_path, wait_for_build
from emulator.images.records import CreationState, ImageRecord
from emulator.images.registry import ImageRegistry
from emulator.runtime.probes import ProbeSettings
from emulator.services import accelerated
from emulator.services.auth import ServiceAuth, generate_key
from emulator.services.deployment import Deployment, ReplicaTemplate
from emulator.services.gateway import Gateway
from emulator.services.grpc_gateway import GRPC
from emulator.services.hosting import HOST
from emulator.services.injection.hosting import HostedFaults
from emulator.services.model_data import replica_environment
from emulator.services.records import ServiceRecord, ServiceState
from emulator.services.registry import ServiceRegistry
from emulator.services.settings import ServiceSettings
from emulator.services.tls import TlsEndpoint
from emulator.settings import DEFAULT_TOKEN_LIFETIME, token_lifetime_seconds
from emulator.store.root import EmulatorRoot

#: Seconds a rolling update waits for the new replicas before giving up (keeping the old).
UPDATE_TIMEOUT = 600.0


@dataclass(frozen=True)
class DeploymentSpec:
    """How to run a service, in the emulator's terms (the faces fill it from a configuration)."""

    compute_type: str
    replicas: int = 1
    route: ServiceSettings = field(default_factory=ServiceSettings.aci)
    auth_mode: str = "off"
    cpu_cores: float | None = None
    memory_gb: float | None = None
    liveness: ProbeSettings = field(default_factory=ProbeSettings)
    environment: Mapping[str, str] = field(default_factory=dict)
    compute_name: str | None = None
    port: int = 0
    settings: Mapping[str, Any] = field(default_factory=dict)
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    properties: Mapping[str, str] = field(default_factory=dict)
    primary_key: str | None = None
    secondary_key: str | None = None
    #: What the scheduler places on nodes (Kubernetes requests; limits are cpu_cores/memory_gb).
    cpu_request: float = 0.1
    memory_request: float = 0.5
    #: HTTPS on the service's own endpoint (ACI with ``ssl_enabled``).
    tls: TlsEndpoint | None = None


class ServiceManager:
    """The services of one workspace (records in ``root``, live ones in this process)."""

    def __init__(
        self,
        root: EmulatorRoot,
        workspace_id: int,
        images: ImageRegistry,
        compute: ComputeRegistry,
    ) -> None:
        self.root = root
        self.workspace_id = workspace_id
        self.images = images
        self.compute = compute
        self.registry = ServiceRegistry(root, workspace_id)

    # -- deploy ----------------------------------------------------------------------------------

    def deploy(
        self, name: str, spec: DeploymentSpec, image: ImageRecord, *, overwrite: bool = False
    ) -> ServiceRecord:
        """Create the service and start deploying it (in the background when the image is
        still building); returns the ``Transitioning`` record."""
        existing = self.registry.get(name)
        if existing is not None:
            if not overwrite:
                raise Conflict(
                    f"Service {name} with the same name already exists, please use a different "
                    "service name or delete the existing service. [emulator] Or pass "
                    "overwrite=True to replace it."
                )
            self.delete(existing)
        accelerated.check_target(image, spec.compute_type)
        if spec.compute_type == "AKS":
            self._check_cluster(spec)
        record = self.registry.create(
            name,
            spec.compute_type,
            image_id=image.image_id,
            model_ids=image.model_ids,
            settings={
                "authMode": spec.auth_mode,
                "tokenLifetimeSeconds": token_lifetime_seconds(),
                **spec.settings,
            },
            compute_name=spec.compute_name,
            description=spec.description,
            tags=dict(spec.tags),
            properties=dict(spec.properties),
            primary_key=spec.primary_key or generate_key(),
            secondary_key=spec.secondary_key or generate_key(),
            token_secret=generate_key(),
        )
        HOST.hosts_in(self.root.path)
        threading.Thread(
            target=self._launch,
            args=(record, spec, image),
            name=f"amlemu-deploy-{name}",
            daemon=True,
        ).start()
        return record

    def resume(self, record: ServiceRecord, spec: DeploymentSpec, image: ImageRecord) -> None:
        """Host ``record`` again in this process (a restarted daemon brings back the services it
        hosted): it becomes this process's, ``Transitioning``, and starts as a deploy does."""
        record = self.registry.update(
            record, owner_pid=os.getpid(), state=ServiceState.TRANSITIONING, error=None
        )
        HOST.hosts_in(self.root.path)
        threading.Thread(
            target=self._launch,
            args=(record, spec, image),
            name=f"amlemu-resume-{record.name}",
            daemon=True,
        ).start()

    def _check_cluster(self, spec: DeploymentSpec) -> None:
        cluster = self.compute.get(spec.compute_name or "")
        if cluster is None:
            raise BadArgument(
                f"ComputeTargetNotFound: Compute Target with name {spec.compute_name} not found "
                "in provided workspace",
                code="ComputeTargetNotFound",
            )

    def _launch(self, record: ServiceRecord, spec: DeploymentSpec, image: ImageRecord) -> None:
        try:
            image = self._built(image)
            if image.state is not CreationState.SUCCEEDED:
                self._set(
                    record,
                    state=ServiceState.FAILED,
                    error={
                        "code": "EnvironmentBuildFailed",
                        "message": f"Error occurred creating image {image.image_id} for service. "
                        f"More information can be found here: {log_path(image).resolve().as_uri()}",
                        "details": [image.error] if image.error else [],
                    },
                )
                return
            if spec.compute_type == "AKS":
                placement = self.compute.reserve(
                    spec.compute_name or "",
                    self._owner(record),
                    spec.replicas,
                    spec.cpu_request,
                    spec.memory_request,
                    fpgas=accelerated.fpgas_per_replica(image),
                )
                if not placement.fits:
                    self._set(
                        record,
                        state=ServiceState.UNSCHEDULABLE,
                        error={
                            "code": "KubernetesDeploymentFailed",
                            "statusCode": 400,
                            "message": "Kubernetes Deployment failed",
                            "details": [
                                {"code": "Unschedulable", "message": UNSCHEDULABLE_MESSAGE},
                                {"code": "Unschedulable", "message": placement.reason},
                            ],
                        },
                    )
                    return
            self._start(record, spec, image)
        except Exception as exc:  # anything: the service must end Failed, never hang
            message = exc.message if isinstance(exc, EmulatorError) else repr(exc)
            self._set(
                record,
                state=ServiceState.FAILED,
                error={"code": "ServiceDeploymentFailed", "message": message},
            )

    def _built(self, image: ImageRecord) -> ImageRecord:
        if image.state in (CreationState.NOT_STARTED, CreationState.RUNNING):
            return wait_for_build(self.images, image)
        return image

    def _start(self, record: ServiceRecord, spec: DeploymentSpec, image: ImageRecord) -> Deployment:
        grpc_model = accelerated.load_model(image)  # before any replica: a bad model fails fast
        gateway = self._gateway(spec)
        template = _template(spec, image, self._environment(record, spec))
        faults = HostedFaults(self.root.path, self.workspace_id, record.name)
        deployment = Deployment(
            record.name, template, gateway, spec.route, self.auth(record), spec.replicas, faults
        )
        try:
            deployment.start()
            if grpc_model is not None:
                GRPC.serve(
                    self.root.path,
                    self.workspace_id,
                    spec.compute_name or "",
                    deployment,
                    grpc_model,
                )
        except Exception:
            deployment.stop()
            if gateway.mode == "aci":
                gateway.stop()
            raise
        self._set(record, port=gateway.port, scoring_uri=gateway.scoring_uri(record.name))
        HOST.add(self.root.path, self.workspace_id, deployment)
        return deployment

    def _gateway(self, spec: DeploymentSpec) -> Gateway:
        if spec.compute_type == "AKS":
            return HOST.cluster_gateway(
                self.root.path, self.workspace_id, spec.compute_name or "", spec.port
            )
        # a local service has no front end in Azure: streamed answers reach the client as sent
        gateway = Gateway("aci", tls=spec.tls, streams=spec.compute_type == "Local")
        try:
            gateway.start(port=spec.port)
        except OSError as exc:
            raise OperationFailed(
                "Docker container start has failed, the port you are attempting to use is "
                f"already in use:\n{exc}\n[emulator] Choose another port, or port=None for a "
                "free one."
            ) from exc
        return gateway

    def _environment(self, record: ServiceRecord, spec: DeploymentSpec) -> dict[str, str]:
        """The replicas' variables: the face's, then the service's own (model data collection)."""
        return {
            **spec.environment,
            **replica_environment(
                self.root, self.workspace_id, record.name, record.compute_type, spec.settings
            ),
        }

    def _owner(self, record: ServiceRecord) -> str:
        return f"service:{self.workspace_id}:{record.name}"

    # -- read ------------------------------------------------------------------------------------

    def get(self, name: str) -> ServiceRecord | None:
        """The record of ``name``, its state brought up to date from the live replicas."""
        record = self.registry.get(name)
        return None if record is None else self.refresh(record)

    def refresh(self, record: ServiceRecord) -> ServiceRecord:
        """``record`` with its state brought up to date, if this process hosts the service."""
        deployment = HOST.deployment(self.root.path, self.workspace_id, record.name)
        if deployment is None or record.state in (ServiceState.DELETING,):
            return record
        state, error = deployment.state()
        if state is not record.state or (error and error != record.error):
            record = self._set(record, state=state, error=self._service_error(record, error))
        return record

    def _service_error(
        self, record: ServiceRecord, detail: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """A replica's error wrapped as ACI/AKS wrap it."""
        if detail is None:
            return None
        if record.compute_type == "AKS":
            return {
                "code": "KubernetesDeploymentFailed",
                "statusCode": 400,
                "message": "Kubernetes Deployment failed",
                "details": [detail],
            }
        return {
            "code": "AciDeploymentFailed",
            "statusCode": 400,
            "message": f"Aci Deployment failed with exception: {detail.get('message', '')}",
            "details": [detail],
        }

    def deployment(self, name: str) -> Deployment | None:
        return HOST.deployment(self.root.path, self.workspace_id, name)

    def logs(self, record: ServiceRecord, num_lines: int | None = 5000) -> str:
        deployment = self.deployment(record.name)
        if deployment is None:
            return ""
        return deployment.logs(num_lines)

    def auth(self, record: ServiceRecord) -> ServiceAuth:
        """The service's auth, from its record (keys survive processes)."""
        mode = {"key": "key", "token": "token"}.get(
            str(record.settings.get("authMode", "off")), "off"
        )
        return ServiceAuth(
            mode,
            record.primary_key,
            record.secondary_key,
            float(record.settings.get("tokenLifetimeSeconds") or DEFAULT_TOKEN_LIFETIME),
            token_secret=record.token_secret,
        )

    # -- change ----------------------------------------------------------------------------------

    def regen_key(self, record: ServiceRecord, which: str, set_key: str | None) -> ServiceRecord:
        auth = self.auth(record)
        auth.regen_key(which, set_key)
        primary, secondary = auth.keys()
        record = self._set(record, primary_key=primary, secondary_key=secondary)
        deployment = self.deployment(record.name)
        if deployment is not None and deployment.route is not None:
            deployment.route.auth.regen_key(which, primary if which == "Primary" else secondary)
        return record

    def update(
        self, record: ServiceRecord, spec: DeploymentSpec, image: ImageRecord | None
    ) -> ServiceRecord:
        """Apply ``spec`` (and a new image) without downtime: new replicas first."""
        deployment = self.deployment(record.name)
        if deployment is None:
            raise BadArgument(
                f"Service {record.name} is not running in this process, so it cannot be "
                "updated. [emulator] Deploy it again with overwrite=True."
            )
        image = self._built(image) if image is not None else None
        if image is not None and image.state is not CreationState.SUCCEEDED:
            raise BadArgument(
                f'Unable to update service with image {image.image_id} in non "Succeeded" '
                "creation state."
            )
        grpc_model = accelerated.load_model(image) if image is not None else None
        record = self._set(
            record,
            settings={
                "authMode": spec.auth_mode,
                "tokenLifetimeSeconds": record.settings.get("tokenLifetimeSeconds"),
                **spec.settings,
            },
            description=spec.description,
            tags=dict(spec.tags),
            properties=dict(spec.properties),
            **({"image_id": image.image_id, "model_ids": image.model_ids} if image else {}),
        )
        if image is not None:
            template = _template(spec, image, self._environment(record, spec))
        else:  # same image, new resources and probes
            template = replace(
                deployment.template,
                environment=self._environment(record, spec),
                cpu_cores=spec.cpu_cores,
                memory_gb=spec.memory_gb,
                liveness=spec.liveness,
            )
        error = deployment.replace(
            template, spec.route, self.auth(record), spec.replicas, UPDATE_TIMEOUT
        )
        if error is not None:
            raise OperationFailed(
                "Service update failed; the previous version keeps serving.\nError:\n"
                f"{error.get('message', error)}"
            )
        if grpc_model is not None:
            GRPC.serve(
                self.root.path, self.workspace_id, record.compute_name or "", deployment, grpc_model
            )
        return self.get(record.name) or record

    def delete(self, record: ServiceRecord) -> None:
        """Stop the replicas and the service's gateway route; free its cluster capacity."""
        GRPC.withdraw(self.root.path, self.workspace_id, record.compute_name, record.name)
        HOST.remove(self.root.path, self.workspace_id, record.name)
        if record.compute_type == "AKS" and record.compute_name:
            self.compute.release(record.compute_name, self._owner(record))
        self.registry.delete(record)

    def _set(self, record: ServiceRecord, **fields: Any) -> ServiceRecord:
        try:
            return self.registry.update(record, **fields)
        except LookupError:  # deleted meanwhile
            return record


def _template(
    spec: DeploymentSpec, image: ImageRecord, environment: dict[str, str]
) -> ReplicaTemplate:
    """Replicas of ``image``: run by Docker when Docker built it, else as processes."""
    return ReplicaTemplate(
        image_location=image.location or "",
        image_name=image.image_id,
        backend="docker" if image.builder == "docker" else "process",
        environment=environment,
        cpu_cores=spec.cpu_cores,
        memory_gb=spec.memory_gb,
        liveness=spec.liveness,
    )
