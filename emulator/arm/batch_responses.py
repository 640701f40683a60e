"""Handlers of the ARM face for batch endpoints and batch deployments: create or update, get,
list, delete, and the create's operation status.

They translate ARM's REST shapes (what ``azure-ai-ml`` 1.35 sends for ``BatchEndpoint``,
``ModelBatchDeployment`` and ``BatchDeployment`` and reads back; measured by running the real
client against this face) to :mod:`emulator.endpoints.batch` and back. An endpoint's PUT and
DELETE finish within the request (200 with ``provisioningState: Succeeded``, which the client's
poller takes as done). A deployment's PUT answers 201 with ``Azure-AsyncOperation``; a model
deployment's image builds in the background meanwhile
(:mod:`emulator.endpoints.batch_provisioning`) and the operation ends ``Succeeded`` or
``Failed`` with the build log, as Azure's does; a ``PipelineComponentBatchDeployment``
(api-version 2023-02-01-preview) is checked by :mod:`emulator.endpoints.batch_pipeline` and
ready within its PUT.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from emulator.arm.exceptions import PROVIDER
from emulator.arm.responses import Answer, ArmContext, WorkspaceRequest
from emulator.arm.version_responses import workspace_arm_id
from emulator.batch.settings import BatchSettings
from emulator.endpoints import batch_pipeline, batch_provisioning
from emulator.endpoints.batch import (
    IN_PROGRESS,
    BatchDeploymentRecord,
    BatchDeployments,
    BatchEndpointRecord,
    BatchEndpoints,
    BatchEndpointSpec,
)
from emulator.exceptions import BadArgument
from emulator.state import WorkspaceState

#: Seconds an operation-status request waits for the operation to end before it answers.
STATUS_HOLD_SECONDS = 5.0
#: ARM's auth modes ↔ the SDK's names (batch endpoints have only the one).
_FROM_REST = {"aadtoken": "aad_token", "key": "key", "amltoken": "aml_token"}


def jobs_uri(ctx: ArmContext, state: WorkspaceState, endpoint: str) -> str:
    """Where a batch endpoint's jobs are created (``invoke`` POSTs there): a path on the
    emulator's port (Azure's is ``https://<endpoint>.<region>.inference.ml.azure.com/jobs``)."""
    ws = state.record
    return (
        f"{ctx.base_url}/batchjobs/{ws.subscription_id}/{ws.resource_group}/{ws.name}/"
        f"{endpoint}/jobs"
    )


def endpoint_body(
    ctx: ArmContext, state: WorkspaceState, record: BatchEndpointRecord
) -> dict[str, Any]:
    """A batch endpoint as ARM returns it (what ``BatchEndpoint._from_rest_object`` reads)."""
    return {
        "id": f"{workspace_arm_id(state)}/batchEndpoints/{record.name}",
        "name": record.name,
        "type": f"{PROVIDER}/workspaces/batchEndpoints",
        "location": state.record.location,
        "kind": "",
        "tags": record.tags,
        "identity": {"type": "SystemAssigned"},
        "systemData": {"createdAt": record.created_time, "lastModifiedAt": record.modified_time},
        "properties": {
            "authMode": "AADToken",
            "description": record.description,
            "properties": {},
            # Always present: without it the client's endpoint.defaults is None and the
            # documented ``endpoint.defaults.deployment_name = ...`` raises AttributeError.
            "defaults": {"deploymentName": record.default_deployment},
            "provisioningState": "Succeeded",
            "scoringUri": jobs_uri(ctx, state, record.name),
            "swaggerUri": None,
        },
    }


def _body_object(request: Request, what: str) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
        raise BadArgument(
            f"The request body must be a JSON object with 'properties' (a {what}).",
            code="UserError",
        )
    return body


def put_endpoint(req: WorkspaceRequest, endpoint: str) -> Any:
    """Create or update a batch endpoint (aad_token only; defaults.deploymentName kept as sent)."""
    state = req.state
    body = _body_object(req.request, "batch endpoint")
    properties = body["properties"]
    auth = str(properties.get("authMode") or "AADToken")
    defaults = properties.get("defaults") or {}
    spec = BatchEndpointSpec(
        auth_mode=_FROM_REST.get(auth.casefold(), auth),
        description=properties.get("description"),
        tags=body.get("tags") or {},
        default_deployment=(defaults.get("deploymentName") or None)
        if isinstance(defaults, dict)
        else None,
    )
    record, _ = BatchEndpoints(req.root, state.id).create_or_update(endpoint, spec)
    return endpoint_body(req.ctx, state, record)


def get_endpoint(req: WorkspaceRequest, endpoint: str) -> Any:
    """One batch endpoint (404 ``ResourceNotFound`` naming the existing ones)."""
    state = req.state
    return endpoint_body(req.ctx, state, BatchEndpoints(req.root, state.id).get(endpoint))


def list_endpoints(req: WorkspaceRequest) -> Any:
    """The workspace's batch endpoints, in one page."""
    state = req.state
    records = BatchEndpoints(req.root, state.id).list()
    return {"value": [endpoint_body(req.ctx, state, r) for r in records]}


def delete_endpoint(req: WorkspaceRequest, endpoint: str) -> Any:
    """Delete a batch endpoint and its deployments; the client's poller reads 200 as done."""
    state = req.state
    BatchEndpoints(req.root, state.id).delete(endpoint)
    return {}


def deployment_body(state: WorkspaceState, record: BatchDeploymentRecord) -> dict[str, Any]:
    """A batch deployment as ARM returns it (what ``BatchDeployment._from_rest_object`` reads;
    the endpoint's name is parsed from ``id``)."""
    endpoint_id = f"{workspace_arm_id(state)}/batchEndpoints/{record.endpoint}"
    return {
        "id": f"{endpoint_id}/deployments/{record.name}",
        "name": record.name,
        "type": f"{PROVIDER}/workspaces/batchEndpoints/deployments",
        "location": state.record.location,
        "kind": "",
        "tags": record.tags,
        "systemData": {"createdAt": record.created_time, "lastModifiedAt": record.modified_time},
        "properties": {**record.properties, "provisioningState": record.state},
    }


def _deployments(
    req: WorkspaceRequest, endpoint: str
) -> tuple[WorkspaceState, BatchEndpointRecord, BatchDeployments]:
    state = req.state
    record = BatchEndpoints(req.root, state.id).get(endpoint)  # 404 naming the endpoints
    return state, record, BatchDeployments(req.root, state.id)


def put_deployment(req: WorkspaceRequest, endpoint: str, deployment: str) -> Any:
    """Create or replace a batch deployment: 201 at once (``Creating``); the image build
    follows in the background and the operation the client polls ends ``Succeeded`` or
    ``Failed`` (a bad conda specification fails here, as in Azure, not at the first job)."""
    state, ep, deployments = _deployments(req, endpoint)
    body = _body_object(req.request, "batch deployment")
    properties = dict(body["properties"])
    tags = body.get("tags") or {}
    if batch_pipeline.is_pipeline(properties):
        # A PipelineComponentBatchDeployment: nothing to build, its steps' environments are
        # built when a job runs them; ready once its component and compute are checked.
        batch_pipeline.check(req.root, state.record, state.id, deployment, properties)
        record = deployments.put(ep.name, deployment, properties, tags)
        record = deployments.set_state(record, "Succeeded") or record
    else:
        BatchSettings.from_properties(properties)  # 400 naming a bad setting, before storing
        batch_provisioning.check_buildable(state, deployment, properties)
        batch_provisioning.check_compute(req.root, state.record, deployment, properties)
        record = deployments.put(ep.name, deployment, properties, tags)
        batch_provisioning.start(state, record)
    return Answer(
        201,
        deployment_body(state, record),
        {"Azure-AsyncOperation": req.operation_status_url(), "Retry-After": "0"},
    )


def operation_status(req: WorkspaceRequest, endpoint: str, deployment: str) -> Any:
    """The create's status, from the deployment's provisioning state; held up to
    :data:`STATUS_HOLD_SECONDS` so the client learns the outcome when it happens."""
    _, ep, deployments = _deployments(req, endpoint)
    record = deployments.settled(ep.name, deployment, STATUS_HOLD_SECONDS)
    status = "InProgress" if record.state in IN_PROGRESS else record.state
    body = {"status": status, **({"error": record.error} if record.error else {})}
    return Answer(200, body, {"Retry-After": "0"})


def get_deployment(req: WorkspaceRequest, endpoint: str, deployment: str) -> Any:
    """One batch deployment (404 naming the endpoint's deployments)."""
    state, ep, deployments = _deployments(req, endpoint)
    return deployment_body(state, deployments.get(ep.name, deployment))


def list_deployments(req: WorkspaceRequest, endpoint: str) -> Any:
    """The endpoint's batch deployments, in one page."""
    state, ep, deployments = _deployments(req, endpoint)
    return {"value": [deployment_body(state, d) for d in deployments.list(ep.name)]}


def delete_deployment(req: WorkspaceRequest, endpoint: str, deployment: str) -> Any:
    """Forget a batch deployment (its image stays, as Azure keeps environment images)."""
    _, ep, deployments = _deployments(req, endpoint)
    deployments.delete(ep.name, deployment)
    return {}
