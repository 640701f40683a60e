"""SDK v2 online endpoints and their deployments as people see them (the portal's "Endpoints"
blades, beside the v1 services): per endpoint its type (managed, or Kubernetes on an attached
compute), auth mode, scoring URI, traffic and mirrored traffic; per deployment its
provisioning state (with Azure's error), instance type and count, what it runs, and its
replicas' logs.

Read from the endpoint state (:mod:`emulator.endpoints`) and the replicas' log files, so any
process sees what the daemon (or a script's own server) created. The scoring URI is on the port
of the server that answers it: ``base_url`` is that server's (None when none serves the root,
then no URI is shown: nothing would answer it).
"""

from __future__ import annotations

from typing import Any

from emulator.arm.endpoint_responses import scoring_uri
from emulator.arm.responses import ArmContext
from emulator.endpoints.byoc import custom_container
from emulator.endpoints.deployments import DeploymentRecord, OnlineDeployments
from emulator.endpoints.mlflow import model_of
from emulator.endpoints.registry import EndpointRecord, OnlineEndpoints
from emulator.exceptions import EmulatorError
from emulator.services.online import host_key
from emulator.state import WorkspaceState
from emulator.views.replicas import hosted_replicas

#: ARM's names of the auth modes, as the portal and ``az ml`` show them.
AUTH_MODES = {"key": "Key", "aml_token": "AMLToken", "aad_token": "AADToken"}
#: What serves a no-code deployment, by its model's type.
NO_CODE = {
    "mlflow_model": "none given: derived from the MLflow model (its conda.yaml), served with "
    "mlflow.pyfunc",
    "triton_model": "none given: a Triton model repository, served with Triton's V2 protocol "
    "on ONNX Runtime",
}


def list_endpoints(state: WorkspaceState, base_url: str | None) -> list[dict[str, Any]]:
    """Every online endpoint of the workspace with its deployments, by name."""
    deployments = OnlineDeployments(state.root, state.id)
    return [
        _endpoint(state, record, deployments.list(record.name), base_url)
        for record in OnlineEndpoints(state.root, state.id).list()
    ]


def endpoint_details(state: WorkspaceState, name: str, base_url: str | None) -> dict[str, Any]:
    """One endpoint (``NotFound`` naming the workspace's endpoints otherwise)."""
    record = OnlineEndpoints(state.root, state.id).get(name)
    deployments = OnlineDeployments(state.root, state.id).list(record.name)
    return _endpoint(state, record, deployments, base_url)


def deployment_details(state: WorkspaceState, endpoint: str, name: str) -> dict[str, Any]:
    """One deployment with what it runs and its replicas' logs (``NotFound`` naming the
    endpoint's deployments otherwise)."""
    ep = OnlineEndpoints(state.root, state.id).get(endpoint)
    record = OnlineDeployments(state.root, state.id).get(ep.name, name)
    props = record.properties
    code = props.get("codeConfiguration") or {}
    replicas = hosted_replicas(state.root.path, host_key(ep.name, record.name))
    return {
        **_deployment(ep, record),
        "model": props.get("model"),
        "environment": props.get("environmentId"),
        "noCode": _no_code(state, props),
        "customContainer": _custom_container(state, props),
        "codeId": code.get("codeId"),
        "scoringScript": code.get("scoringScript"),
        "environmentVariables": props.get("environmentVariables") or {},
        "requestSettings": props.get("requestSettings") or {},
        "tags": record.tags,
        "created": record.created_time,
        "modified": record.modified_time,
        "replicas": [
            {
                "replica": replica.number,
                "container": replica.container,
                "running": replica.running,
                "pid": replica.pid,
                "log": str(replica.log_path) if replica.log_path else None,
            }
            for replica in replicas
        ],
    }


def _no_code(state: WorkspaceState, props: dict[str, Any]) -> str | None:
    """What serves a deployment that names neither code nor environment (Azure's no-code
    model types); ``None`` for a deployment with a script."""
    if props.get("codeConfiguration") or props.get("environmentId"):
        return None
    model = model_of(state.models, str(props.get("model") or ""))
    return NO_CODE.get(model.v2_type) if model is not None else None


def _custom_container(state: WorkspaceState, props: dict[str, Any]) -> dict[str, str] | None:
    """A custom container's image and routes (``inference_config``); ``None`` otherwise."""
    try:
        custom = custom_container(state.root, state.id, props)
    except EmulatorError:  # a malformed inference_config: the deployment's error tells
        return None
    if custom is None:
        return None
    routes = custom.routes
    named = {"scoring": routes.scoring, "liveness": routes.liveness, "readiness": routes.readiness}
    return {"image": custom.image} | {k: f":{r.port}{r.path}" for k, r in named.items()}


def _endpoint(
    state: WorkspaceState,
    record: EndpointRecord,
    deployments: list[DeploymentRecord],
    base_url: str | None,
) -> dict[str, Any]:
    uri = None
    if base_url is not None:
        uri = scoring_uri(ArmContext(state.root, base_url, ""), state, record.name)
    return {
        "name": record.name,
        "kind": "Kubernetes" if record.compute else "Managed",
        "compute": record.compute,
        "authMode": AUTH_MODES.get(record.auth_mode, record.auth_mode),
        "scoringUri": uri,
        "description": record.description,
        "tags": record.tags,
        "traffic": record.traffic,
        "mirrorTraffic": {k: v for k, v in record.mirror_traffic.items() if v},
        "created": record.created_time,
        "modified": record.modified_time,
        "deployments": [_deployment(record, d) for d in deployments],
    }


def _deployment(endpoint: EndpointRecord, record: DeploymentRecord) -> dict[str, Any]:
    """A deployment's row: state, instances, and its share of the endpoint's traffic."""
    key = record.name.casefold()
    return {
        "name": record.name,
        "endpoint": endpoint.name,
        "state": record.state,
        "error": record.error,
        "instanceType": record.properties.get("instanceType") or "-",
        "instanceCount": record.sku.get("capacity", 1),
        "traffic": _share(endpoint.traffic, key),
        "mirrorTraffic": _share(endpoint.mirror_traffic, key),
    }


def _share(table: dict[str, int], key: str) -> int:
    """The percent ``table`` gives the deployment (names are case-insensitive in Azure)."""
    return sum(percent for name, percent in table.items() if name.casefold() == key)
