"""The workspace's resources as Azure ML's portal shows them: one list row and one detail
record per model, image, service and compute target.

``amlemu ls`` prints the rows, ``amlemu describe`` the details; ``--json`` prints the details,
which are the SDK's ``serialize()`` payloads plus what the portal adds (build log and
Dockerfile URIs, the failing build step, replicas, keys, nodes and what is reserved on them).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from emulator.compute.records import ClusterRecord
from emulator.errors import UserErrorException
from emulator.images.build import log_path
from emulator.runtime.limits import describe_mechanism
from emulator.sdk.compute import ComputeTarget
from emulator.sdk.image import Image, image_of
from emulator.sdk.model import Model
from emulator.sdk.webservice.base import Webservice, webservice_of
from emulator.sdk.workspace import Workspace
from emulator.store.blobs import pid_alive
from emulator.views.model_data import model_data_details
from emulator.views.replicas import service_replicas
from emulator.views.text import mask

KINDS = ("models", "images", "services", "compute")
_ALIASES = {
    "model": "models",
    "image": "images",
    "service": "services",
    "webservice": "services",
    "webservices": "services",
    "deployments": "services",
    "computes": "compute",
    "compute-targets": "compute",
}
_TIME = "%Y-%m-%d %H:%M:%S"


def kind(text: str) -> str:
    """An argparse type: a resource kind, singular or plural (``service`` → ``services``)."""
    name = _ALIASES.get(text.lower(), text.lower())
    if name not in KINDS:
        raise argparse.ArgumentTypeError(
            f"unknown kind '{text}': choose one of {', '.join(KINDS)} (singular works too)"
        )
    return name


@dataclass(frozen=True)
class NameVersion:
    """A ``NAME[:VERSION]`` argument."""

    name: str
    version: int | None = None


def name_version(text: str) -> NameVersion:
    """An argparse type for ``NAME[:VERSION]``; the version must be an integer."""
    name, colon, version = text.partition(":")
    if not name or (colon and not version.isdigit()):
        raise argparse.ArgumentTypeError(
            f"'{text}' is not NAME or NAME:VERSION with an integer VERSION (e.g. my-model:2)"
        )
    return NameVersion(name, int(version) if colon else None)


# -- models --------------------------------------------------------------------------------

MODEL_HEADER = ("NAME", "VERSION", "KIND", "FRAMEWORK", "TAGS", "CREATED")


def model_row(model: Model) -> tuple[str, ...]:
    tags = ",".join(f"{k}={v}" for k, v in model.tags.items())
    return (
        model.name,
        str(model.version),
        model.emulator_record.kind,
        model.model_framework or "-",
        tags or "-",
        model.created_time.strftime(_TIME),
    )


def model_details(model: Model) -> dict[str, Any]:
    """The model's payload, its files (size, digest) and the library versions that saved it."""
    record = model.emulator_record
    return {
        **model.serialize(),
        "kind": record.kind,
        "files": [{"path": f.path, "size": f.size, "sha256": f.digest} for f in record.files],
        "libraryVersions": model.library_versions,
    }


def find_model(ws: Workspace, wanted: NameVersion) -> Model:
    return Model(ws, name=wanted.name, version=wanted.version)


def model_versions(ws: Workspace, name: str) -> list[int]:
    return [m.version for m in Model.list(ws, name=name)]


# -- images --------------------------------------------------------------------------------

IMAGE_HEADER = ("NAME", "VERSION", "STATE", "FLAVOR", "BUILDER", "MODELS", "CREATED")


def list_images(ws: Workspace) -> list[Image]:
    """Every image version (model packages included, as the portal lists them)."""
    return [image_of(ws, record) for record in ws.emulator_state.images.records()]


def image_row(image: Image) -> tuple[str, ...]:
    return (
        image.name,
        str(image.version),
        image.creation_state,
        image.image_flavor,
        image.emulator_record.builder,
        ",".join(image.model_ids) or "-",
        image.created_time.strftime(_TIME),
    )


def find_image(ws: Workspace, wanted: NameVersion) -> Image:
    return Image(ws, name=wanted.name, version=wanted.version)


def image_details(image: Image) -> dict[str, Any]:
    """The image's payload plus its builder, location and, when it failed, the failing step."""
    error = image.error or None
    return {
        **image.serialize(),
        "builder": image.emulator_record.builder,
        "buildLogPath": str(log_path(image.emulator_record)),
        "failingStep": error.get("step") if error else None,
        "error": error,
    }


# -- services ------------------------------------------------------------------------------

SERVICE_HEADER = ("NAME", "TYPE", "STATE", "REPLICAS", "SCORING URI", "IMAGE")


def list_services(ws: Workspace) -> list[Webservice]:
    return [webservice_of(ws, r) for r in ws.emulator_state.services.records()]


def find_service(ws: Workspace, name: str) -> Webservice:
    return Webservice(ws, name)


def service_row(service: Webservice) -> tuple[str, ...]:
    return (
        service.name,
        service.compute_type,
        service.state,
        _replica_summary(service.emulator_record.settings, service.compute_type),
        service.scoring_uri or "-",
        service.image_id or "-",
    )


def service_details(
    service: Webservice, show_keys: bool = False, *, model_data: bool = True
) -> dict[str, Any]:
    """The service's payload plus the deployments blade: id, swagger, auth and keys (masked
    unless ``show_keys``), models, replicas with their pids and logs, the host process and,
    unless ``model_data`` is off, its collected files (which a list view never shows: reading
    them costs a pass over every file)."""
    record = service.emulator_record
    settings = record.settings
    auth_mode = str(settings.get("authMode", "off"))
    keys = (record.primary_key, record.secondary_key)
    if not show_keys:
        keys = (mask(keys[0]), mask(keys[1]))
    owner = record.owner_pid
    root = service.workspace.emulator_state.root.path
    details = {
        **service.serialize(),
        "serviceId": record.name,
        "operationId": service.emulator_operation_id,
        "swaggerUri": service.swagger_uri,
        "authMode": auth_mode,
        "primaryKey": keys[0] if auth_mode == "key" else None,
        "secondaryKey": keys[1] if auth_mode == "key" else None,
        "modelIds": list(record.model_ids),
        "replicaSettings": _replica_summary(settings, record.compute_type),
        "replicas": [
            {
                "replica": replica.number,
                "container": replica.container,
                "running": replica.running,
                "backend": replica.backend,
                "id": replica.ident,
                "pid": replica.pid,
                "limits": replica.limits,
                "limitsDetail": describe_mechanism(replica.limits) if replica.limits else None,
                "log": str(replica.log_path) if replica.log_path else None,
            }
            for replica in service_replicas(root, record)
        ],
        "hostPid": owner,
        "hostAlive": owner is not None and pid_alive(owner),
    }
    if model_data:
        details["modelData"] = model_data_details(service)
    return details


def _replica_summary(settings: dict[str, Any], compute_type: str) -> str:
    """``3``, or ``autoscale 1-10 @70%`` (AKS's autoscaler), as the portal's summary."""
    scaler = settings.get("autoScaler") or {}
    if scaler.get("autoscaleEnabled"):
        return (
            f"autoscale {scaler.get('minReplicas')}-{scaler.get('maxReplicas')} "
            f"@{scaler.get('targetUtilization')}%"
        )
    return str(settings.get("numReplicas") or 1) if compute_type == "AKS" else "1"


# -- compute -------------------------------------------------------------------------------

COMPUTE_HEADER = ("NAME", "TYPE", "STATE", "VM SIZE", "NODES", "LOCATION")


def list_compute(ws: Workspace) -> list[ComputeTarget]:
    return ComputeTarget.list(ws)


def find_compute(ws: Workspace, name: str) -> ComputeTarget:
    return ComputeTarget(ws, name)


def compute_row(target: ComputeTarget) -> tuple[str, ...]:
    record: ClusterRecord = target.emulator_record
    return (
        target.name,
        target.type,
        target.provisioning_state,
        record.vm_size,
        str(record.agent_count),
        record.location,
    )


def compute_details(target: ComputeTarget) -> dict[str, Any]:
    """The target's payload plus its nodes: capacity, allocatable share, what the services'
    pods reserve there and which services they belong to."""
    record: ClusterRecord = target.emulator_record
    registry = target.workspace.emulator_state.compute
    usage = registry.node_usage(target.name)
    pods: dict[str, list[str]] = {}
    for owner, nodes in registry.reservations(target.name).items():
        for node in nodes:
            pods.setdefault(node, []).append(owner.rsplit(":", 1)[-1])
    size = record.size
    return {
        **target.serialize(),
        "vmSize": {
            "name": size.name,
            "cores": size.cores,
            "memoryGB": size.memory_gb,
            "gpus": size.gpus,
            "fpgas": size.fpgas,
        },
        "agentCount": record.agent_count,
        "clusterPurpose": record.cluster_purpose,
        "nodes": [
            {
                "name": node.name,
                "cores": node.cores,
                "memoryGB": node.memory_gb,
                "allocatableCores": node.allocatable_cores,
                "allocatableMemoryGB": node.allocatable_memory_gb,
                "reservedCores": round(usage[node.name].cpu_cores, 3) if node.name in usage else 0,
                "reservedMemoryGB": (
                    round(usage[node.name].memory_gb, 3) if node.name in usage else 0
                ),
                "pods": pods.get(node.name, []),
            }
            for node in record.nodes
        ],
    }


def no_versions(kind_name: str, wanted: NameVersion) -> None:
    """Services and compute targets have no versions: refuse ``NAME:VERSION`` for them."""
    if wanted.version is not None:
        raise UserErrorException(
            f"{kind_name} have no versions: pass just the name ('{wanted.name}')."
        )
