"""Handlers of the ARM face: cloud metadata, the managed-identity token, workspaces.

Each handler takes the :class:`ArmContext`, the request and the route's path parameters (a
handler of a route below a workspace: a :class:`WorkspaceRequest` and the parameters after the
workspace), and returns a JSON-able body (status 200) or raises an
:class:`~emulator.arm.exceptions.ArmError`.
The REST shapes are the ones ``azure-ai-ml`` 1.35's deserializers read (measured: see
``../shared/research/sdk-v2-wire.md``); a field they need and do not find crashes the client.
"""

from __future__ import annotations

import hmac
import json
import logging
import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from werkzeug.wrappers import Request

from emulator.arm.exceptions import PROVIDER, ArmError, ResourceNotFound
from emulator.arm.identity import issue_token
from emulator.settings import STRICT_ENV, strict_mode
from emulator.state import WorkspaceState, workspace_states
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceRecord

T = TypeVar("T")

logger = logging.getLogger("emulator.arm")

#: The emulator's cloud, as ``azure-ai-ml`` lists it. Never ``AzureCloud``: the SDK's built-in
#: clouds win over metadata of the same name, and the client would go to Azure.
CLOUD_NAME = "AzureMLEmulator"
#: Blob suffix of the cloud; later steps serve path-style URLs with it (see the research notes).
STORAGE_SUFFIX = "core.windows.net"
#: What a URL path segment may hold unencoded besides letters, digits and ``-._~`` (RFC 3986's
#: ``pchar``), and ``/`` between segments: ARM's names come back as they were sent.
_PATH_SAFE = "/:@!$&'()*+,;="


@dataclass(frozen=True)
class ArmContext:
    """What every handler needs: the state root, the URL clients reach us at, the identity
    secret (``IDENTITY_HEADER``) that token requests must present and tokens are signed with."""

    root: EmulatorRoot
    base_url: str  # "https://127.0.0.1:PORT" (no trailing slash)
    identity_secret: str


@dataclass
class WorkspaceRequest:
    """A request to a route below a workspace (``.../workspaces/<name>/...``): the context, the
    HTTP request and the workspace the path names, in one argument for its handler (the
    application builds it from the route's parameters). The workspace is resolved on first use
    of :attr:`state`, as :func:`resolve_workspace` does (created unless strict), so a handler
    that checks its request first still answers those checks first."""

    ctx: ArmContext
    request: Request
    subscription: str
    resource_group: str
    workspace: str

    @cached_property
    def state(self) -> WorkspaceState:
        return resolve_workspace(self.ctx, self.subscription, self.resource_group, self.workspace)

    @property
    def root(self) -> EmulatorRoot:
        return self.ctx.root

    def operation_status_url(self) -> str:
        """Where the client polls a long-running PUT to this path (``Azure-AsyncOperation``):
        the path's ``operationStatus``, at the api-version it asked for. Both are decoded by
        now and any api-version is accepted, so they are encoded again: a client's ``&``,
        ``#`` or space would otherwise cut the api-version short or end the URL."""
        path = quote(f"{self.request.path.rstrip('/')}/operationStatus", safe=_PATH_SAFE)
        query = urlencode({"api-version": self.request.args.get("api-version", "")})
        return f"{self.ctx.base_url}{path}?{query}"


@dataclass(frozen=True)
class Answer:
    """A handler's answer when it is not a plain 200: a started long-running operation (201 with
    ``Azure-AsyncOperation`` for the client's poller to follow)."""

    status: int
    body: Any
    headers: dict[str, str]


def cloud_metadata(ctx: ArmContext, request: Request) -> Any:
    """``ARM_CLOUD_METADATA_URL``: a list with the emulator's cloud. ``azure-ai-ml`` makes the
    cloud whose ``resourceManager`` occurs in that URL current, and asks for tokens with the
    scope ``<resourceManager>/.default``."""
    base = ctx.base_url + "/"
    return [
        {
            "name": CLOUD_NAME,
            "portal": base,
            "resourceManager": base,
            "authentication": {
                "loginEndpoint": base,
                "audiences": [base],
                "tenant": "common",
                "identityProvider": "AAD",
            },
            "suffixes": {"storage": STORAGE_SUFFIX},
        }
    ]


class IdentityError(ArmError):
    """App Service's token errors are ``{"statusCode", "message"}``, which msal reports."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    def body(self) -> bytes:
        return json.dumps({"statusCode": self.status, "message": self.message}).encode()


def managed_identity_token(ctx: ArmContext, request: Request) -> Any:
    """``IDENTITY_ENDPOINT``: a token for ``resource`` when ``X-IDENTITY-HEADER`` is the secret."""
    presented = request.headers.get("X-IDENTITY-HEADER", "")
    if not hmac.compare_digest(presented.encode(), ctx.identity_secret.encode()):
        raise IdentityError(
            401,
            "The X-IDENTITY-HEADER header is missing or wrong. [emulator] Set IDENTITY_HEADER "
            "to the value `amlemu env` prints for this emulator root.",
        )
    resource = request.args.get("resource", "")
    if not resource:
        raise IdentityError(400, "The 'resource' query parameter is required.")
    client_id = request.args.get("client_id") or request.args.get("object_id")
    return issue_token(ctx.identity_secret, resource, client_id)


def get_workspace(req: WorkspaceRequest) -> Any:
    """GET a workspace; one that does not exist is created on first use (and logged), unless
    strict mode is on, where it is ARM's 404 as in Azure."""
    return workspace_body(req.ctx, req.state.record)


def resolve_workspace(
    ctx: ArmContext, subscription: str, resource_group: str, workspace: str
) -> WorkspaceState:
    """The workspace a request's path names, created on first use as :func:`get_workspace`
    says (every workspace-scoped route resolves its workspace this way)."""
    states = workspace_states(ctx.root)
    state = states.get(subscription, resource_group, workspace)
    if state is None:
        if strict_mode():
            raise ResourceNotFound(
                f"The Resource '{PROVIDER}/workspaces/{workspace}' under resource group "
                f"'{resource_group}' was not found. For more details please go to "
                "https://aka.ms/ARMResourceNotFoundFix [emulator] Strict mode is on "
                f"({STRICT_ENV}): create the workspace first (MLClient.workspaces."
                "begin_create, or azureml.core's Workspace.create), or start the emulator "
                "without strict mode."
            )
        state, created = states.create(subscription, resource_group, workspace)
        if created:
            logger.warning(
                "Workspace '%s' did not exist in the emulator root %s; created it.",
                workspace,
                ctx.root.path,
            )
    return state


def top_of(items: list[T], request: Request) -> list[T]:
    """The first ``$top`` items when the client asks for a page of that size (the SDK's upload
    asks for one version), else all of them."""
    top = request.args.get("$top")
    return items[: int(top)] if top and top.isdigit() else items


def list_workspaces(
    ctx: ArmContext, request: Request, subscription: str, resource_group: str | None = None
) -> Any:
    """The workspaces of a subscription (or of one of its resource groups)."""
    records = [
        state.record
        for state in workspace_states(ctx.root).all()
        if state.record.subscription_id.casefold() == subscription.casefold()
        and (
            resource_group is None
            or state.record.resource_group.casefold() == resource_group.casefold()
        )
    ]
    return {"value": [workspace_body(ctx, r) for r in records]}


def workspace_body(ctx: ArmContext, record: WorkspaceRecord) -> dict[str, Any]:
    """A workspace as ARM returns it (api-version 2024-10-01-preview's shape)."""
    rg_id = f"/subscriptions/{record.subscription_id}/resourceGroups/{record.resource_group}"
    arm_id = f"{rg_id}/providers/{PROVIDER}/workspaces/{record.name}"
    account = _resource_name(record.name, "storage")
    return {
        "id": arm_id,
        "name": record.name,
        "type": f"{PROVIDER}/workspaces",
        "location": record.location,
        "kind": "Default",
        "tags": record.tags,
        "sku": {"name": record.sku.capitalize(), "tier": record.sku.capitalize()},
        "identity": {"type": "SystemAssigned", "principalId": str(_workspace_guid(record, "mi"))},
        "systemData": {"createdAt": record.created_time, "lastModifiedAt": record.created_time},
        "properties": {
            "workspaceId": str(_workspace_guid(record, "workspace")),
            "friendlyName": record.name,
            "description": "",
            "provisioningState": "Succeeded",
            "creationTime": record.created_time,
            "storageAccount": f"{rg_id}/providers/Microsoft.Storage/storageAccounts/{account}",
            "keyVault": f"{rg_id}/providers/Microsoft.KeyVault/vaults/"
            f"{_resource_name(record.name, 'keyvault')[:24]}",
            "applicationInsights": f"{rg_id}/providers/Microsoft.insights/components/"
            f"{_resource_name(record.name, 'insights')}",
            "containerRegistry": None,
            "discoveryUrl": f"{ctx.base_url}/discovery",
            "hbiWorkspace": False,
            "publicNetworkAccess": "Enabled",
            "v1LegacyMode": False,
            "storageHnsEnabled": False,
            "notebookInfo": None,
        },
    }


def _workspace_guid(record: WorkspaceRecord, purpose: str) -> uuid.UUID:
    """A stable GUID per workspace record (Azure assigns them at creation; they never change)."""
    key = "/".join(
        (purpose, record.subscription_id, record.resource_group, record.name, record.created_time)
    )
    return uuid.uuid5(uuid.NAMESPACE_URL, key)


def _resource_name(workspace: str, kind: str) -> str:
    """The name of a workspace's dependent resource, lower-case alphanumerics as Azure wants."""
    return ("".join(c for c in workspace.lower() if c.isalnum()) + kind)[:24]
