"""Handlers of the ARM face for online deployments: create (a real replica running the user's
``init()``), get, list, getLogs, delete; and routing an endpoint's scoring requests to them.

Creating a deployment resolves what the client uploaded (the model version, the code version's
blobs, the environment version), builds an image from it with the emulator's builder (as SDK
v1's ``Model.deploy`` does), starts the replicas (:mod:`emulator.services.online`) and waits
for ``init()``, in the background: the PUT answers 201 with ``Azure-AsyncOperation`` (a build
may outlast the client's read timeout), the client polls the operation until it ends. A failed
build or ``init()`` ends it ``Failed`` with Azure's ``ResourceNotReady`` error and the log's tail.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from werkzeug.wrappers import Request

from emulator.arm.asset_responses import blob_container, storage_account
from emulator.arm.exceptions import PROVIDER, ArmError
from emulator.arm.responses import Answer, ArmContext, resolve_workspace
from emulator.assets.blob_containers import BlobContainers
from emulator.assets.versions import AssetVersions
from emulator.endpoints import EndpointRecord, OnlineEndpoints
from emulator.endpoints.deployments import DeploymentRecord, OnlineDeployments
from emulator.environments.environment import Environment
from emulator.exceptions import BadArgument, EmulatorError
from emulator.images.build import log_path, start_build, wait_for_build
from emulator.images.builders.select import select_builder
from emulator.images.context import ImageRequest
from emulator.images.naming import validate_image_name
from emulator.images.records import CreationState, ImageRecord
from emulator.models.records import ModelRecord
from emulator.services.online import online, start_online, stop_online
from emulator.services.records import ServiceState
from emulator.state import WorkspaceState

#: Seconds ``init()`` may take before the deployment fails (Azure's default startup allowance).
INIT_TIMEOUT = 600.0
#: Lines of the replica's log quoted in a failed deployment's error.
_TAIL = 50
_ASSET_ID = re.compile(
    r".*/(?P<kind>models|codes|environments)/(?P<name>[^/]+)/versions/(?P<v>[^/]+)"
)
_NOT_READY = (
    "ResourceNotReady: User container has crashed or terminated. Please see troubleshooting "
    "guide, available here: https://aka.ms/oe-tsg#error-resourcenotready"
)


class DeploymentFailed(ArmError):
    """The deployment could not be made ready (build or ``init()`` failed): the operation's
    error, whose text the client shows."""

    status = 400
    code = "ResourceNotReady"


class NoDeployments(ArmError):
    """Azure's answer when the endpoint has nothing to route to (status 404)."""

    status = 404
    code = "NoValidDeployments"


class ReplicaAnswer(ArmError):
    """A non-200 answer of the deployment's replica, passed on with its status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = "UserError" if status < 500 else "ModelError"


def _deployments(
    ctx: ArmContext, subscription: str, resource_group: str, workspace: str, endpoint: str
) -> tuple[WorkspaceState, EndpointRecord, OnlineDeployments]:
    state = resolve_workspace(ctx, subscription, resource_group, workspace)
    record = OnlineEndpoints(ctx.root, state.id).get(endpoint)  # 404 naming the endpoints
    return state, record, OnlineDeployments(ctx.root, state.id)


def _body(state: WorkspaceState, record: DeploymentRecord) -> dict[str, Any]:
    """A deployment as ARM returns it (``scaleSettings.scaleType`` is required by the SDK)."""
    ws = state.record
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
        "properties": {
            **record.properties,
            "endpointComputeType": "Managed",
            "scaleSettings": record.properties.get("scaleSettings") or {"scaleType": "Default"},
            "provisioningState": record.state,
        },
    }


def put_deployment(
    ctx: ArmContext,
    request: Request,
    subscription: str,
    resource_group: str,
    workspace: str,
    endpoint: str,
    deployment: str,
) -> Any:
    """Create or replace a deployment: 201 at once (``Creating``); the image build, the replicas
    and ``init()`` follow in the background, and the operation status the client polls
    (:func:`operation_status`) ends ``Succeeded`` or ``Failed``."""
    state, ep, deployments = _deployments(ctx, subscription, resource_group, workspace, endpoint)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
        raise BadArgument(
            "The request body must be a JSON object with 'properties' (an online deployment).",
            code="UserError",
        )
    properties = {k: v for k, v in body["properties"].items() if k != "provisioningState"}
    sku = body.get("sku") or {"name": "Default", "capacity": 1}
    record = deployments.put(ep.name, deployment, properties, body.get("tags") or {}, sku)
    threading.Thread(
        target=_create,
        args=(ctx, state, record),
        name=f"amlemu-online-{ep.name}-{record.name}",
        daemon=True,
    ).start()
    status_url = (
        f"{ctx.base_url}{request.path.rstrip('/')}/operationStatus"
        f"?api-version={request.args.get('api-version', '')}"
    )
    return Answer(
        201, _body(state, record), {"Azure-AsyncOperation": status_url, "Retry-After": "0"}
    )


def _create(ctx: ArmContext, state: WorkspaceState, record: DeploymentRecord) -> None:
    """Build, start, wait for ``init()``; the record ends ``Succeeded`` or ``Failed``."""
    deployments = OnlineDeployments(ctx.root, state.id)
    endpoint, name = record.endpoint, record.name
    work = state.directory / "online" / endpoint.lower() / name.lower()
    try:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        image = _build(state, endpoint, name, record.properties, work)
        variables = {
            str(k): str(v) for k, v in (record.properties.get("environmentVariables") or {}).items()
        }
        replicas = int(record.sku.get("capacity") or 1)
        live = start_online(ctx.root.path, state.id, endpoint, name, image, replicas, variables)
        status, _ = live.wait(INIT_TIMEOUT)
        if not any(d.name == name for d in deployments.list(endpoint)):
            stop_online(ctx.root.path, state.id, endpoint, name)  # deleted meanwhile
            return
        if status is not ServiceState.HEALTHY:
            tail = live.logs(_TAIL)
            stop_online(ctx.root.path, state.id, endpoint, name)
            raise DeploymentFailed(f"{_NOT_READY}\nContainer logs (last {_TAIL} lines):\n{tail}")
    except Exception as exc:  # anything: the operation must end Failed, never hang
        message = exc.message if isinstance(exc, (ArmError, EmulatorError)) else repr(exc)
        deployments.set_state(
            endpoint, name, "Failed", {"code": "ResourceNotReady", "message": message}
        )
        return
    deployments.set_state(endpoint, name, "Succeeded")


def operation_status(
    ctx: ArmContext,
    request: Request,
    subscription: str,
    resource_group: str,
    workspace: str,
    endpoint: str,
    deployment: str,
) -> Any:
    """The long-running operation's status, from the deployment's provisioning state."""
    _, ep, deployments = _deployments(ctx, subscription, resource_group, workspace, endpoint)
    record = deployments.get(ep.name, deployment)
    status = {"Creating": "InProgress"}.get(record.state, record.state)
    return {"status": status, **({"error": record.error} if record.error else {})}


def _build(
    state: WorkspaceState, endpoint: str, deployment: str, props: dict[str, Any], work: Path
) -> ImageRecord:
    """The deployment's image, built from its model, code and environment (waits for it)."""
    model = _model(state, str(props.get("model") or ""))
    code = props.get("codeConfiguration") or {}
    source = _code(state, str(code.get("codeId") or ""), work / "code")
    script = source / str(code.get("scoringScript") or "score.py")
    if not script.is_file():
        raise BadArgument(
            f"The scoring script '{code.get('scoringScript')}' is not in the deployment's code. "
            "[emulator] Name a file of code_configuration.code in scoring_script.",
            code="UserError",
        )
    request = ImageRequest(
        entry_script=script,
        environment=_environment(state, str(props.get("environmentId") or ""), work),
        models=(model,),
        source_directory=source,
    )
    builder = select_builder(state.root)
    try:
        name = validate_image_name(f"{endpoint}-{deployment}".lower())
    except BadArgument:
        name = "online-deployment"
    image = state.images.create(
        name, builder=builder.name, model_ids=[model.model_id], entry_script=script.name
    )
    image = wait_for_build(
        state.images, start_build(state.images, image, request, builder, state.root.blobs)
    )
    if image.state is not CreationState.SUCCEEDED:
        lines = log_path(image).read_text(encoding="utf-8", errors="replace").splitlines()
        raise DeploymentFailed(
            "ImageBuildFailure: the deployment's environment image failed to build.\nBuild log "
            f"(last {_TAIL} lines):\n" + "\n".join(lines[-_TAIL:])
        )
    return image


def _asset(arm_id: str, kind: str) -> tuple[str, str]:
    found = _ASSET_ID.fullmatch(arm_id)
    if found is None or found["kind"] != kind:
        raise BadArgument(
            f"The deployment's {kind[:-1]} {arm_id!r} is not an ARM id of a {kind[:-1]} version "
            f"(.../{kind}/<name>/versions/<version>).",
            code="UserError",
        )
    return found["name"], found["v"]


def _model(state: WorkspaceState, arm_id: str) -> ModelRecord:
    name, version = _asset(arm_id, "models")
    record = state.models.get(name, int(version)) if version.isdigit() else None
    if record is None:
        raise BadArgument(
            f"Model '{name}' version '{version}' does not exist in this workspace.",
            code="UserError",
        )
    return record


def _code(state: WorkspaceState, arm_id: str, into: Path) -> Path:
    """The code version's uploaded files, copied under ``into``."""
    name, version = _asset(arm_id, "codes")
    asset = AssetVersions(state.root, state.id, "codes").get(name, version)
    uri = "" if asset is None else str(asset.spec.get("codeUri") or "")
    parts = unquote(urlparse(uri).path).strip("/").split("/", 2)
    if len(parts) < 3:
        raise BadArgument(
            f"Code '{name}' version '{version}' has no uploaded files (codeUri {uri!r}).",
            code="UserError",
        )
    blobs = BlobContainers(state.root)
    account, container, prefix = storage_account(state), blob_container(state), parts[2]
    for blob in blobs.list(account, container, prefix + "/"):
        blobs.content.materialize(blob.digest, into / blob.name[len(prefix) + 1 :])
    into.mkdir(parents=True, exist_ok=True)
    return into


def _environment(state: WorkspaceState, arm_id: str, work: Path) -> Environment:
    """The emulator's environment for the version's image and conda file."""
    name, version = _asset(arm_id, "environments")
    asset = AssetVersions(state.root, state.id, "environments").get(name, version)
    if asset is None:
        raise BadArgument(
            f"Environment '{name}' version '{version}' does not exist in this workspace.",
            code="UserError",
        )
    conda = asset.spec.get("condaFile")
    if conda:
        path = work / "conda.yml"
        path.write_text(str(conda), encoding="utf-8")
        environment = Environment.from_conda_specification(name, path)
    else:
        environment = Environment(name)
    if asset.spec.get("image"):
        environment.docker.base_image = str(asset.spec["image"])
    return environment


def get_deployment(
    ctx: ArmContext,
    request: Request,
    subscription: str,
    resource_group: str,
    workspace: str,
    endpoint: str,
    deployment: str,
) -> Any:
    """One deployment (404 naming the endpoint's deployments)."""
    state, ep, deployments = _deployments(ctx, subscription, resource_group, workspace, endpoint)
    return _body(state, deployments.get(ep.name, deployment))


def list_deployments(
    ctx: ArmContext,
    request: Request,
    subscription: str,
    resource_group: str,
    workspace: str,
    endpoint: str,
) -> Any:
    """The endpoint's deployments, in one page (``online_endpoints.get`` reads them too)."""
    state, ep, deployments = _deployments(ctx, subscription, resource_group, workspace, endpoint)
    return {"value": [_body(state, d) for d in deployments.list(ep.name)]}


def delete_deployment(
    ctx: ArmContext,
    request: Request,
    subscription: str,
    resource_group: str,
    workspace: str,
    endpoint: str,
    deployment: str,
) -> Any:
    """Stop the deployment's replicas and forget it; refused while traffic goes to it."""
    state, ep, deployments = _deployments(ctx, subscription, resource_group, workspace, endpoint)
    record = deployments.get(ep.name, deployment)
    share = {k.casefold(): v for k, v in ep.traffic.items()}.get(record.name.casefold(), 0)
    if share > 0:
        raise BadArgument(
            f"Deployment '{record.name}' receives {share}% of endpoint "
            f"'{ep.name}''s traffic and cannot be deleted. [emulator] Set its traffic to 0 "
            "first (endpoint.traffic).",
            code="UserError",
        )
    stop_online(ctx.root.path, state.id, ep.name, record.name)
    deployments.delete(ep.name, record.name)
    return {}


def stop_all(ctx: ArmContext, state: WorkspaceState, endpoint: str) -> None:
    """Stop and forget every deployment of ``endpoint`` (the endpoint is being deleted)."""
    deployments = OnlineDeployments(ctx.root, state.id)
    for record in deployments.list(endpoint):
        stop_online(ctx.root.path, state.id, endpoint, record.name)
        deployments.delete(endpoint, record.name)


def get_logs(
    ctx: ArmContext,
    request: Request,
    subscription: str,
    resource_group: str,
    workspace: str,
    endpoint: str,
    deployment: str,
) -> Any:
    """``get_logs``: the last ``tail`` lines of a replica's log."""
    state, ep, deployments = _deployments(ctx, subscription, resource_group, workspace, endpoint)
    record = deployments.get(ep.name, deployment)
    body = request.get_json(silent=True) or {}
    tail = body.get("tail") if isinstance(body, dict) else None
    live = online(ctx.root.path, state.id, ep.name, record.name)
    content = "" if live is None else live.logs(int(tail) if isinstance(tail, int) else 5000)
    return {"content": content}


def route(ctx: ArmContext, state: WorkspaceState, ep: EndpointRecord, request: Request) -> Any:
    """Forward an authorised scoring request to a deployment: the one the
    ``azureml-model-deployment`` header names, else one drawn by the traffic weights."""
    deployments = OnlineDeployments(ctx.root, state.id)
    named = request.headers.get("azureml-model-deployment")
    if named:
        target = deployments.get(ep.name, named).name
    else:
        weighted = [(d, w) for d, w in ep.traffic.items() if w > 0]
        if not weighted:
            raise NoDeployments(
                "No valid deployments to route to. Please check that the endpoint has at least "
                "one deployment with positive weight values or use a deployment specific header "
                "to route."
            )
        target = random.choices([d for d, _ in weighted], [w for _, w in weighted])[0]
    live = online(ctx.root.path, state.id, ep.name, target)
    if live is None:
        raise ReplicaAnswer(
            503,
            f"Deployment '{target}' has no running replica. [emulator] The process that created "
            "it has ended; run the emulator as a daemon (amlemu up) to keep deployments "
            "running, or create the deployment again.",
        )
    forward = urllib.request.Request(
        live.gateway.scoring_uri(live.name),
        data=request.get_data(),
        headers={"Content-Type": request.content_type or "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(forward, timeout=INIT_TIMEOUT) as answer:
            text = answer.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        raise ReplicaAnswer(exc.code, exc.read().decode("utf-8", errors="replace")) from exc
    try:
        return json.loads(text)
    except ValueError:
        return text
