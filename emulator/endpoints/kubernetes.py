"""Azure's rules for Kubernetes online endpoints and their deployments.

A Kubernetes online endpoint names an attached Kubernetes compute
(:mod:`emulator.compute.kubernetes`) in ``properties.compute``; azure-ai-ml sends the compute's
ARM id (``.../workspaces/<ws>/computes/<name>``), other clients may send ``azureml:<name>`` or
the name. The compute must exist in the endpoint's workspace and be a Kubernetes one (an SDK v1
AKS target is not: Azure wants the cluster attached as Kubernetes compute), and such an endpoint
takes ``key`` or ``aml_token`` auth only: Microsoft Entra tokens (``aad_token``) are for
managed endpoints.

Its deployments are ``KubernetesOnlineDeployment`` s (``endpointComputeType: Kubernetes``); their
``instance_type`` is one of the compute's instance types (its default one when not given), and
their ``resources`` obey Kubernetes' request/limit rules. The replicas run as a managed
deployment's do (:mod:`emulator.endpoints.provisioning`), limited as the pods would be: the CPU
and memory limits of the deployment's ``resources``, else of its instance type (Kubernetes puts
no limit where none is given).
"""

from __future__ import annotations

import re
from typing import Any

from emulator.compute.kubernetes import KubernetesComputes
from emulator.compute.quantities import check_resources, parse_quantity
from emulator.compute.registry import ComputeRegistry
from emulator.endpoints.deployments import DeploymentRecord
from emulator.endpoints.registry import EndpointRecord, OnlineEndpoints
from emulator.exceptions import BadArgument
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceRecord

KUBERNETES = "Kubernetes"
_GIB = 2.0**30
_COMPUTE_ID = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)/computes/(?P<name>[^/]+)/?",
    re.IGNORECASE,
)


def endpoint_compute(
    root: EmulatorRoot, workspace: WorkspaceRecord, compute: str | None, auth_mode: str
) -> str | None:
    """The name of the Kubernetes compute an endpoint request names (None for a managed
    endpoint); :class:`BadArgument` for a compute that is not an attached Kubernetes compute of
    ``workspace``, or for ``aad_token`` auth on one."""
    if not compute:
        return None
    name = _compute_name(workspace, compute)
    found = KubernetesComputes(root, workspace).find(name)
    if found is None:
        if ComputeRegistry(root, workspace).get(name) is not None:
            raise BadArgument(
                f"Compute '{name}' is an AKS compute target, not a Kubernetes compute: "
                "Kubernetes online endpoints run on clusters attached as Kubernetes compute. "
                "[emulator] Attach the cluster with ml_client.compute.begin_create_or_update("
                "KubernetesCompute(name=..., resource_id=<the cluster's ARM id>)).",
                code="BadArgument",
            )
        known = ", ".join(f"'{c.name}'" for c in KubernetesComputes(root, workspace).list())
        raise BadArgument(
            f"Compute '{name}' is not found in workspace '{workspace.name}'. [emulator] "
            f"Kubernetes computes attached here: {known or 'none'}; attach one with "
            "ml_client.compute.begin_create_or_update(KubernetesCompute(...)).",
            code="BadArgument",
        )
    if auth_mode == "aad_token":
        raise BadArgument(
            "AADToken auth mode is not supported for Kubernetes online endpoints. Use Key or "
            "AMLToken. [emulator] Create the endpoint with auth_mode='key' or 'aml_token'; "
            "Microsoft Entra tokens (aad_token) are accepted by managed online endpoints.",
            code="BadArgument",
        )
    return found.name


def check_deployment(
    root: EmulatorRoot,
    workspace: WorkspaceRecord,
    endpoint: EndpointRecord,
    name: str,
    properties: dict[str, Any],
) -> None:
    """A deployment request against its endpoint's kind: a Kubernetes deployment on a
    Kubernetes endpoint picks one of its compute's instance types and asks for resources
    Kubernetes accepts; a managed endpoint takes managed deployments only."""
    kind = str(properties.get("endpointComputeType") or "Managed")
    if endpoint.compute is None:
        if kind.casefold() == KUBERNETES.casefold():
            raise BadArgument(
                f"Deployment '{name}' is a Kubernetes deployment, but endpoint '{endpoint.name}' "
                "is a managed online endpoint. [emulator] Use ManagedOnlineDeployment, or "
                "deploy to a KubernetesOnlineEndpoint.",
                code="BadArgument",
            )
        return
    if kind.casefold() != KUBERNETES.casefold():
        raise BadArgument(
            f"Deployment '{name}' is a {kind} deployment, but endpoint '{endpoint.name}' is a "
            f"Kubernetes online endpoint (compute '{endpoint.compute}'). [emulator] Use "
            "KubernetesOnlineDeployment.",
            code="BadArgument",
        )
    compute = KubernetesComputes(root, workspace).find(endpoint.compute)
    if compute is None:
        raise BadArgument(
            f"Compute '{endpoint.compute}' of endpoint '{endpoint.name}' is not found in "
            f"workspace '{workspace.name}': it was detached. [emulator] Attach it again under "
            "that name before deploying.",
            code="BadArgument",
        )
    instance_type = properties.get("instanceType")
    compute.instance_type(instance_type if isinstance(instance_type, str) else None)
    resources = properties.get("containerResourceRequirements") or {}
    if not isinstance(resources, dict):
        raise BadArgument(
            f"resources of deployment '{name}' must be an object with requests and limits.",
            code="BadArgument",
        )
    check_resources(
        f"deployment '{name}'",
        resources.get("containerResourceRequests") or {},
        resources.get("containerResourceLimits") or {},
    )


def replica_limits(
    root: EmulatorRoot, workspace: WorkspaceRecord, record: DeploymentRecord
) -> tuple[float | None, float | None]:
    """(CPU cores, memory GiB) each replica of the Kubernetes deployment ``record`` is limited
    to: its ``resources`` limits, else its instance type's, per resource; None where neither
    sets one. :class:`BadArgument` when the compute no longer has the instance type."""
    endpoint = OnlineEndpoints(root, workspace.id).get(record.endpoint)
    compute = (
        None
        if endpoint.compute is None
        else KubernetesComputes(root, workspace).find(endpoint.compute)
    )
    limits: dict[str, object] = {}
    if compute is not None:
        wanted = record.properties.get("instanceType")
        _, spec = compute.instance_type(wanted if isinstance(wanted, str) else None)
        limits.update((spec.get("resources") or {}).get("limits") or {})
    resources = record.properties.get("containerResourceRequirements") or {}
    own = resources.get("containerResourceLimits") or {}
    limits.update({k: v for k, v in own.items() if v is not None})
    cpu = parse_quantity(limits["cpu"]) if limits.get("cpu") is not None else None
    memory = parse_quantity(limits["memory"]) if limits.get("memory") is not None else None
    return cpu, None if memory is None else memory / _GIB


def _compute_name(workspace: WorkspaceRecord, compute: str) -> str:
    """The compute name in an ARM id, an ``azureml:`` reference or a bare name; an id of
    another workspace's compute is refused (an endpoint runs on its own workspace's)."""
    found = _COMPUTE_ID.fullmatch(compute)
    if found is None:
        return compute.removeprefix("azureml:")
    same = (
        found["sub"].casefold() == workspace.subscription_id.casefold()
        and found["rg"].casefold() == workspace.resource_group.casefold()
        and found["ws"].casefold() == workspace.name.casefold()
    )
    if not same:
        raise BadArgument(
            f"Compute '{compute}' belongs to another workspace. An online endpoint runs on a "
            f"compute of its own workspace ('{workspace.name}').",
            code="BadArgument",
        )
    return found["name"]
