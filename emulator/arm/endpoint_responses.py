"""Handlers of the ARM face for online endpoints: create or update, get, list, keys, delete
(the scoring URI is :mod:`emulator.arm.scoring_responses`).

They translate ARM's REST shapes (what ``azure-ai-ml`` 1.35 sends and deserializes; see
``../shared/research/sdk-v2-wire.md``) to :mod:`emulator.endpoints` and back. The operations
finish within the request, so PUT and DELETE answer 200 with ``provisioningState: Succeeded``:
azure-core's ARM poller takes that as a finished long-running operation without polling.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from werkzeug.wrappers import Request

from emulator.arm import deployment_responses
from emulator.arm.compute_responses import compute_id
from emulator.arm.exceptions import PROVIDER
from emulator.arm.responses import ArmContext, WorkspaceRequest
from emulator.endpoints import EndpointRecord, OnlineEndpoints
from emulator.endpoints.kubernetes import endpoint_compute
from emulator.endpoints.registry import EndpointSpec
from emulator.exceptions import BadArgument
from emulator.state import WorkspaceState

#: ARM's auth modes ↔ the SDK's YAML names (the state's).
_AUTH_MODES = {"key": "Key", "aml_token": "AMLToken", "aad_token": "AADToken"}
_FROM_REST = {rest.casefold(): name for name, rest in _AUTH_MODES.items()}


def _endpoints(req: WorkspaceRequest) -> tuple[WorkspaceState, OnlineEndpoints]:
    return req.state, OnlineEndpoints(req.root, req.state.id)


def scoring_uri(ctx: ArmContext, state: WorkspaceState, endpoint: str) -> str:
    """Where the endpoint is invoked: a path on the emulator's own port (Azure's is
    ``https://<endpoint>.<region>.inference.ml.azure.com/score``)."""
    record = state.record
    return (
        f"{ctx.base_url}/inference/{record.subscription_id}/{record.resource_group}/"
        f"{record.name}/{endpoint}/score"
    )


def endpoint_body(ctx: ArmContext, state: WorkspaceState, endpoint: EndpointRecord) -> Any:
    """An online endpoint as ARM returns it (the fields ``OnlineEndpoint._from_rest_object``
    reads; ``scoringUri`` is required)."""
    record = state.record
    workspace_id = (
        f"/subscriptions/{record.subscription_id}/resourceGroups/{record.resource_group}"
        f"/providers/{PROVIDER}/workspaces/{record.name}"
    )
    uri = scoring_uri(ctx, state, endpoint.name)
    return {
        "id": f"{workspace_id}/onlineEndpoints/{endpoint.name}",
        "name": endpoint.name,
        "type": f"{PROVIDER}/workspaces/onlineEndpoints",
        "location": record.location,
        # ARM's kind of a Kubernetes online endpoint (the client only shows it).
        "kind": "K8S" if endpoint.compute else "Managed",
        "tags": endpoint.tags,
        "identity": {"type": "SystemAssigned"},
        "systemData": {
            "createdAt": endpoint.created_time,
            "lastModifiedAt": endpoint.modified_time,
        },
        "properties": {
            "authMode": _AUTH_MODES[endpoint.auth_mode],
            "description": endpoint.description,
            "properties": {},
            "traffic": endpoint.traffic,
            "mirrorTraffic": endpoint.mirror_traffic,
            **({"compute": compute_id(state, endpoint.compute)} if endpoint.compute else {}),
            "provisioningState": "Succeeded",
            "publicNetworkAccess": "Enabled",
            "scoringUri": uri,
            "swaggerUri": uri.removesuffix("/score") + "/swagger.json",
        },
    }


def _spec(request: Request) -> EndpointSpec:
    """The request body's settable fields; ill-formed ones are a 400 naming the field."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadArgument(
            "The request body must be a JSON object (an online endpoint).", code="UserError"
        )
    properties = body.get("properties") or {}
    auth = str(properties.get("authMode") or "Key")
    traffic = _traffic(properties, "traffic")
    mirror = _traffic(properties, "mirrorTraffic")
    return EndpointSpec(
        auth_mode=_FROM_REST.get(auth.casefold(), auth),
        description=properties.get("description"),
        tags=body.get("tags") or {},
        traffic=traffic,
        mirror_traffic=mirror,
        compute=properties.get("compute") or None,
    )


def _traffic(properties: dict[str, Any], field: str) -> dict[str, int]:
    traffic = properties.get(field) or {}
    if not isinstance(traffic, dict) or not all(
        isinstance(v, int) and 0 <= v <= 100 for v in traffic.values()
    ):
        raise BadArgument(
            f"properties.{field} must map deployment names to integer percentages (0-100).",
            code="UserError",
        )
    return traffic


def put_endpoint(req: WorkspaceRequest, endpoint: str) -> Any:
    """Create or update an online endpoint (keys are generated once, at creation)."""
    state, endpoints = _endpoints(req)
    spec = _spec(req.request)
    compute = endpoint_compute(req.root, state.record, spec.compute, spec.auth_mode)
    record, _ = endpoints.create_or_update(endpoint, replace(spec, compute=compute))
    return endpoint_body(req.ctx, state, record)


def get_endpoint(req: WorkspaceRequest, endpoint: str) -> Any:
    """One online endpoint (404 ``ResourceNotFound`` naming the existing ones)."""
    state, endpoints = _endpoints(req)
    return endpoint_body(req.ctx, state, endpoints.get(endpoint))


def list_endpoints(req: WorkspaceRequest) -> Any:
    """The workspace's online endpoints, in one page."""
    state, endpoints = _endpoints(req)
    return {"value": [endpoint_body(req.ctx, state, e) for e in endpoints.list()]}


def delete_endpoint(req: WorkspaceRequest, endpoint: str) -> Any:
    """Delete an online endpoint and its deployments (their replicas stop); the client's poller
    reads the 200 as finished."""
    state, endpoints = _endpoints(req)
    record = endpoints.get(endpoint)
    deployment_responses.stop_all(req.ctx, state, record.name)
    endpoints.delete(record.name)
    return {}


def list_keys(req: WorkspaceRequest, endpoint: str) -> Any:
    """The endpoint's two keys (``get_keys``; ``invoke`` sends the primary one)."""
    _, endpoints = _endpoints(req)
    record = endpoints.get(endpoint)
    return {"primaryKey": record.primary_key, "secondaryKey": record.secondary_key}


def get_token(req: WorkspaceRequest, endpoint: str) -> Any:
    """An access token for an ``aml_token`` endpoint (``get_keys`` and ``invoke`` ask for one):
    valid for the token lifetime, to be refreshed after half of it."""
    _, endpoints = _endpoints(req)
    record = endpoints.get(endpoint)
    if record.auth_mode != "aml_token":
        raise BadArgument(
            f"Endpoint '{record.name}' uses auth mode '{record.auth_mode}', not 'aml_token': it "
            "has no tokens. Use its keys (listKeys), or create it with auth_mode='aml_token'.",
            code="UserError",
        )
    token = record.auth().issue_access_token()
    return {
        "accessToken": token.access_token,
        "tokenType": token.token_type,
        "expiryTimeUtc": int(token.expiry_on),
        "refreshAfterTimeUtc": int(token.refresh_after),
    }


def regenerate_keys(req: WorkspaceRequest, endpoint: str) -> Any:
    """``begin_regenerate_keys``: body ``{"keyType": "Primary"|"Secondary", "keyValue"}``; the
    poller reads the 200 as a finished operation."""
    body = req.request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("keyType"), str):
        raise BadArgument(
            "The request body must be a JSON object with keyType 'Primary' or 'Secondary'.",
            code="UserError",
        )
    _, endpoints = _endpoints(req)
    value = body.get("keyValue")
    endpoints.regenerate_key(endpoint, body["keyType"], value if isinstance(value, str) else None)
    return {}
