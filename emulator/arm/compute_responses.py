"""Handlers of the ARM face for a workspace's computes: ``ml_client.compute`` attaching,
getting, listing and detaching Kubernetes clusters (``KubernetesCompute``), and creating,
getting, listing and deleting AmlCompute clusters (their shapes are in
:mod:`emulator.arm.aml_compute_responses`).

azure-ai-ml 1.35 sends ``PUT .../computes/<name>`` with ``properties.computeType: Kubernetes``,
``resourceId`` (the cluster) and ``properties.properties`` (namespace, instance types, the
default instance type), then reads the answer through ``Compute._from_rest_object``, which picks
the entity class by ``computeType``. Attaching finishes within the request (200 with
``provisioningState: Succeeded`` ends the client's poller at once), and so does ``DELETE`` with
``underlyingResourceAction=Detach``. The workspace's SDK v1 AKS targets (``AksCompute``) are
listed too, as ``computeType: AKS`` (the client shows them as ``UnsupportedCompute``), and can be
detached or deleted from here as v1 does.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from emulator.arm import aml_compute_responses
from emulator.arm.exceptions import PROVIDER
from emulator.arm.responses import WorkspaceRequest
from emulator.compute.aml_clusters import AML_COMPUTE, AmlClusters
from emulator.compute.kubernetes import (
    KUBERNETES,
    KubernetesComputeRecord,
    KubernetesComputes,
    KubernetesSpec,
)
from emulator.compute.records import ClusterRecord, ProvisioningState
from emulator.compute.registry import AKS
from emulator.exceptions import BadArgument, Conflict, NotFound
from emulator.state import WorkspaceState

#: What the cluster's Azure ML extension reports; the client only shows them.
_EXTENSION = {"extensionInstanceReleaseTrain": "stable"}


def _computes(req: WorkspaceRequest) -> tuple[WorkspaceState, KubernetesComputes]:
    return req.state, KubernetesComputes(req.root, req.state.record)


def compute_id(state: WorkspaceState, name: str) -> str:
    """The ARM id of the compute ``name`` (what ``properties.compute`` of a Kubernetes online
    endpoint holds)."""
    ws = state.record
    return (
        f"/subscriptions/{ws.subscription_id}/resourceGroups/{ws.resource_group}/providers/"
        f"{PROVIDER}/workspaces/{ws.name}/computes/{name}"
    )


def kubernetes_body(state: WorkspaceState, record: KubernetesComputeRecord) -> dict[str, Any]:
    """A Kubernetes compute as ARM returns it (``KubernetesCompute._load_from_rest`` reads
    ``properties.properties.namespace`` and the rest of that dict as the entity's properties)."""
    return {
        "id": compute_id(state, record.name),
        "name": record.name,
        "type": f"{PROVIDER}/workspaces/computes",
        "location": state.record.location,
        "tags": record.tags,
        "identity": record.identity,
        "systemData": {"createdAt": record.created_time, "lastModifiedAt": record.modified_time},
        "properties": {
            "computeType": KUBERNETES,
            "computeLocation": state.record.location,
            "description": record.description,
            "resourceId": record.resource_id,
            "provisioningState": "Succeeded",
            "provisioningErrors": None,
            "isAttachedCompute": True,
            "disableLocalAuth": False,
            "createdOn": record.created_time,
            "modifiedOn": record.modified_time,
            "properties": {
                **_EXTENSION,
                "namespace": record.namespace,
                "defaultInstanceType": record.default_instance_type,
                "instanceTypes": record.instance_types,
            },
        },
    }


def _aks_body(state: WorkspaceState, record: ClusterRecord) -> dict[str, Any]:
    """An SDK v1 AKS target as ARM returns it (``computeType: AKS``)."""
    name = record.name or record.cluster_name
    errors = [e for e in record.errors if isinstance(e, dict)]
    return {
        "id": compute_id(state, name),
        "name": name,
        "type": f"{PROVIDER}/workspaces/computes",
        "location": record.location,
        "tags": record.tags,
        "properties": {
            "computeType": AKS,
            "computeLocation": record.location,
            "description": record.description,
            "resourceId": record.cluster_resource_id,
            "provisioningState": record.state.value,
            "provisioningErrors": errors or None,
            "isAttachedCompute": record.is_attached,
            "createdOn": record.created_time,
            "modifiedOn": record.updated_time,
            "properties": {
                "agentCount": record.agent_count,
                "agentVmSize": record.vm_size,
                "clusterPurpose": record.cluster_purpose,
                "clusterFqdn": record.cluster_fqdn,
                "loadBalancerType": record.load_balancer_type,
            },
        },
    }


def _body(request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
    """The request body of a create and its ``properties``."""
    body = request.get_json(silent=True)
    properties = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(properties, dict):
        raise BadArgument(
            "The request body must be a JSON object with 'properties' (a compute).",
            code="BadArgument",
        )
    return body, properties


def _spec(body: dict[str, Any], properties: dict[str, Any]) -> KubernetesSpec:
    """The request body of an attach."""
    settings = properties.get("properties") or {}
    if not isinstance(settings, dict):
        raise BadArgument(
            "properties.properties of a Kubernetes compute must be a JSON object (namespace, "
            "defaultInstanceType, instanceTypes).",
            code="BadArgument",
        )
    identity = body.get("identity")
    return KubernetesSpec(
        resource_id=str(properties.get("resourceId") or ""),
        namespace=str(settings.get("namespace") or "default"),
        default_instance_type=settings.get("defaultInstanceType") or None,
        instance_types=settings.get("instanceTypes") or {},
        description=properties.get("description"),
        tags=body.get("tags") or {},
        identity=identity if isinstance(identity, dict) else None,
    )


def put_compute(req: WorkspaceRequest, compute: str) -> Any:
    """Attach a Kubernetes cluster (``begin_create_or_update`` / ``begin_attach``), or create
    an AmlCompute cluster; other compute types are refused by name."""
    body, properties = _body(req.request)
    kind = str(properties.get("computeType") or "")
    if kind.casefold() == AML_COMPUTE.casefold():
        return aml_compute_responses.create_cluster(req, compute, body, properties)
    if kind.casefold() != KUBERNETES.casefold():
        raise BadArgument(
            f"Compute type '{kind}' cannot be created here. [emulator] Through SDK v2 the "
            "emulator creates AmlCompute clusters and attaches Kubernetes clusters "
            "(KubernetesCompute); AKS clusters are created with SDK v1 "
            "(AksCompute.provisioning_configuration) and listed here.",
            code="BadArgument",
        )
    state, computes = _computes(req)
    if AmlClusters(req.root, state.record).find(compute) is not None:
        raise Conflict(
            f"Compute with name {compute} already exists in workspace {state.record.name}: it "
            "is an AmlCompute cluster. [emulator] Pick another name, or delete it first "
            "(ml_client.compute.begin_delete).",
            code="Conflict",
        )
    record, _ = computes.attach(compute, _spec(body, properties))
    return kubernetes_body(state, record)


def get_compute(req: WorkspaceRequest, compute: str) -> Any:
    """One compute: an AmlCompute or Kubernetes one, or a v1 AKS target (404 naming them all
    otherwise)."""
    state, computes = _computes(req)
    cluster_found = AmlClusters(req.root, state.record).find(compute)
    if cluster_found is not None:
        return aml_compute_responses.cluster_body(state, cluster_found)
    found = computes.find(compute)
    if found is not None:
        return kubernetes_body(state, found)
    cluster = state.compute.get(compute)
    if cluster is not None:
        return _aks_body(state, cluster)
    raise _not_found(state, computes, compute)


def list_computes(req: WorkspaceRequest) -> Any:
    """Every compute of the workspace, AmlCompute, Kubernetes and v1 AKS, by name, in one page."""
    state, computes = _computes(req)
    bodies = [
        aml_compute_responses.cluster_body(state, r)
        for r in AmlClusters(req.root, state.record).list()
    ]
    bodies += [kubernetes_body(state, r) for r in computes.list()]
    bodies += [_aks_body(state, r) for r in state.compute.records()]
    return {"value": sorted(bodies, key=lambda b: str(b["name"]).casefold())}


def delete_compute(req: WorkspaceRequest, compute: str) -> Any:
    """``begin_delete(name, action=...)``: ``Detach`` removes an attached cluster from the
    workspace (the cluster lives on); ``Delete`` removes a cluster Azure ML created (a v1 AKS
    target), and is refused for an attached one as Azure refuses it."""
    state, computes = _computes(req)
    action = req.request.args.get("underlyingResourceAction", "Delete")
    if action.casefold() not in ("delete", "detach"):
        raise BadArgument(
            f"Invalid underlyingResourceAction '{action}'. Use 'Delete' or 'Detach'.",
            code="BadArgument",
        )
    detach = action.casefold() == "detach"
    aml = AmlClusters(req.root, state.record)
    if aml.find(compute) is not None:
        if detach:
            raise BadArgument(
                f"Compute '{compute}' is an AmlCompute cluster that Azure ML created: it cannot "
                "be detached, only deleted (ml_client.compute.begin_delete(name)).",
                code="BadArgument",
            )
        aml.delete(compute)
        return {}
    found = computes.find(compute)
    if found is not None:
        if not detach:
            raise _attached(found.name)
        computes.detach(found.name)
        return {}
    cluster = state.compute.get(compute)
    if cluster is None:
        raise _not_found(state, computes, compute)
    if detach:
        state.compute.detach(compute)
    elif cluster.is_attached:
        raise _attached(compute)
    elif cluster.state is not ProvisioningState.DELETING:
        state.compute.delete(compute)
    return {}


def _attached(name: str) -> BadArgument:
    return BadArgument(
        f"Compute '{name}' is an attached compute: Azure ML did not create the cluster, so it "
        "cannot delete it. Detach it instead: ml_client.compute.begin_delete(name, "
        "action='Detach') (az ml compute detach).",
        code="BadArgument",
    )


def _not_found(state: WorkspaceState, computes: KubernetesComputes, name: str) -> NotFound:
    clusters = AmlClusters(state.root, state.record).list()
    names = sorted(
        [r.name for r in clusters]
        + [r.name for r in computes.list()]
        + [r.name or "" for r in state.compute.records()],
        key=str.casefold,
    )
    known = ", ".join(f"'{n}'" for n in names) or "none"
    return NotFound(
        f"Compute '{name}' is not found in workspace '{state.record.name}'. [emulator] Computes "
        f"of this workspace: {known}.",
        code="ResourceNotFound",
    )
