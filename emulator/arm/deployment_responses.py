"""Handlers of the ARM face for online deployments: create (a real replica running the user's
``init()``), get, list, getLogs, delete (the scoring URI is :mod:`emulator.arm.scoring_responses`).

Creating a deployment is a long-running operation: the PUT stores the record and answers 201
with ``Azure-AsyncOperation`` (a build may outlast the client's read timeout) while
:mod:`emulator.endpoints.provisioning` builds the image and starts the replicas in the
background; the client polls the operation until the record says ``Succeeded`` or ``Failed``
(Azure's ``ResourceNotReady`` error and the log's tail). A second create or update of the
deployment while one runs is refused with 409 ``Conflict``
(:mod:`emulator.endpoints.operations`). This module keeps only the protocol.
"""

from __future__ import annotations

from typing import Any

from emulator.arm.exceptions import PROVIDER
from emulator.arm.responses import Answer, ArmContext, WorkspaceRequest
from emulator.endpoints import EndpointRecord, OnlineEndpoints, provisioning
from emulator.endpoints.deployments import IN_PROGRESS, DeploymentRecord, OnlineDeployments
from emulator.endpoints.kubernetes import check_deployment
from emulator.endpoints.operations import begin_operation, wait_ended
from emulator.exceptions import BadArgument
from emulator.state import WorkspaceState

#: Seconds an operation-status request waits for the operation to end before it answers.
STATUS_HOLD_SECONDS = 5.0


def _deployments(
    req: WorkspaceRequest, endpoint: str
) -> tuple[WorkspaceState, EndpointRecord, OnlineDeployments]:
    state = req.state
    record = OnlineEndpoints(req.root, state.id).get(endpoint)  # 404 naming the endpoints
    return state, record, OnlineDeployments(req.root, state.id)


def _body(state: WorkspaceState, record: DeploymentRecord) -> dict[str, Any]:
    """A deployment as ARM returns it (``scaleSettings.scaleType`` is required by the SDK)."""
    ws = state.record
    properties = {
        **record.properties,
        "endpointComputeType": record.properties.get("endpointComputeType") or "Managed",
        "scaleSettings": record.properties.get("scaleSettings") or {"scaleType": "Default"},
        "provisioningState": record.state,
    }
    if properties["endpointComputeType"] == "Kubernetes":
        # azure-ai-ml 1.35 reads resources back from every Kubernetes deployment and crashes on
        # null: an empty object reads as "no resources".
        resources = record.properties.get("containerResourceRequirements")
        properties["containerResourceRequirements"] = resources or {}
    return {
        "id": f"/subscriptions/{ws.subscription_id}/resourceGroups/{ws.resource_group}/providers/"
        f"{PROVIDER}/workspaces/{ws.name}/onlineEndpoints/{record.endpoint}/deployments/"
        f"{record.name}",
        "name": record.name,
        "type": f"{PROVIDER}/workspaces/onlineEndpoints/deployments",
        "location": ws.location,
        "kind": "Managed",
        "tags": record.tags,
        "sku": record.sku,
        "systemData": {"createdAt": record.created_time, "lastModifiedAt": record.modified_time},
        "properties": properties,
    }


def put_deployment(req: WorkspaceRequest, endpoint: str, deployment: str) -> Any:
    """Create or replace a deployment: 201 at once (``Creating``); the image build, the replicas
    and ``init()`` follow in the background, and the operation status the client polls
    (:func:`operation_status`) ends ``Succeeded`` or ``Failed``."""
    state, ep, deployments = _deployments(req, endpoint)
    body = req.request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
        raise BadArgument(
            "The request body must be a JSON object with 'properties' (an online deployment).",
            code="UserError",
        )
    properties = {k: v for k, v in body["properties"].items() if k != "provisioningState"}
    operation = begin_operation(req.root.path, state.id, ep.name, deployment)  # 409 while busy
    try:
        check_deployment(req.root, state.record, ep, deployment, properties)  # Kubernetes
        sku = body.get("sku") or {"name": "Default", "capacity": 1}
        provisioning.validate(state, ep.name, deployment, properties, sku)  # 400 before storing
        record = deployments.put(ep.name, deployment, properties, body.get("tags") or {}, sku)
        provisioning.start(state, record, on_end=operation.end)
    except BaseException:
        operation.end()
        raise
    return Answer(
        201,
        _body(state, record),
        {"Azure-AsyncOperation": req.operation_status_url(), "Retry-After": "0"},
    )


def operation_status(req: WorkspaceRequest, endpoint: str, deployment: str) -> Any:
    """The long-running operation's status, from the deployment's provisioning state. The
    answer waits up to :data:`STATUS_HOLD_SECONDS` for the operation to end and says to poll
    again at once (``Retry-After: 0``): the client learns the outcome when it happens, not at
    its next 5 s poll, and its polls stay as few as against Azure."""
    state, ep, deployments = _deployments(req, endpoint)
    record = deployments.settled(ep.name, deployment, STATUS_HOLD_SECONDS)
    running = record.state in IN_PROGRESS or not wait_ended(
        req.root.path, state.id, ep.name, deployment, STATUS_HOLD_SECONDS
    )
    status = "InProgress" if running else record.state
    body = {"status": status, **({"error": record.error} if record.error else {})}
    return Answer(200, body, {"Retry-After": "0"})


def get_deployment(req: WorkspaceRequest, endpoint: str, deployment: str) -> Any:
    """One deployment (404 naming the endpoint's deployments)."""
    state, ep, deployments = _deployments(req, endpoint)
    return _body(state, deployments.get(ep.name, deployment))


def list_deployments(req: WorkspaceRequest, endpoint: str) -> Any:
    """The endpoint's deployments, in one page (``online_endpoints.get`` reads them too)."""
    state, ep, deployments = _deployments(req, endpoint)
    return {"value": [_body(state, d) for d in deployments.list(ep.name)]}


def delete_deployment(req: WorkspaceRequest, endpoint: str, deployment: str) -> Any:
    """Stop the deployment's replicas and forget it; refused while traffic goes to it."""
    state, ep, deployments = _deployments(req, endpoint)
    record = deployments.get(ep.name, deployment)
    share = {k.casefold(): v for k, v in ep.traffic.items()}.get(record.name.casefold(), 0)
    if share > 0:
        raise BadArgument(
            f"Deployment '{record.name}' receives {share}% of endpoint "
            f"'{ep.name}''s traffic and cannot be deleted. [emulator] Set its traffic to 0 "
            "first (endpoint.traffic).",
            code="UserError",
        )
    provisioning.stop(state, ep.name, record.name)
    deployments.delete(ep.name, record.name)
    return {}


def stop_all(ctx: ArmContext, state: WorkspaceState, endpoint: str) -> None:
    """Stop and forget every deployment of ``endpoint`` (the endpoint is being deleted)."""
    deployments = OnlineDeployments(ctx.root, state.id)
    for record in deployments.list(endpoint):
        provisioning.stop(state, endpoint, record.name)
        deployments.delete(endpoint, record.name)


def get_logs(req: WorkspaceRequest, endpoint: str, deployment: str) -> Any:
    """``get_logs``: the last ``tail`` lines of a replica's log; for a deployment whose replicas
    ended with the process that ran them, a line saying so (see
    :func:`emulator.endpoints.provisioning.absent_note`)."""
    state, ep, deployments = _deployments(req, endpoint)
    record = deployments.get(ep.name, deployment)
    body = req.request.get_json(silent=True) or {}
    tail = body.get("tail") if isinstance(body, dict) else None
    lines = int(tail) if isinstance(tail, int) else 5000
    live = provisioning.running(state, ep.name, record.name)
    if live is None:
        return {"content": provisioning.absent_note(record)}
    return {"content": live.logs(lines)}
