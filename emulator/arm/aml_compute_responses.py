"""The ARM face of AmlCompute clusters: what ``ml_client.compute`` sends for an ``AmlCompute``
and the shapes its deserializers read back.

Measured with azure-ai-ml 1.35.2 (research file ``sdk-v2-wire.md``, "Batch: compute ..."):
``begin_create_or_update`` PUTs ``properties.computeType: AmlCompute`` with
``properties.properties`` = ``vmSize``, ``vmPriority`` (only when a tier is given),
``scaleSettings`` (``minNodeCount``, ``maxNodeCount``, ``nodeIdleTimeBeforeScaleDown`` as an
ISO 8601 duration), ``osType``, ``enableNodePublicIp``, ``remoteLoginPortPublicAccess``; the
answer (200, ``provisioningState: Succeeded``) ends the client's poller at once. ``AmlCompute``
is read from ``properties.properties``; Azure also reports the allocation there
(``currentNodeCount``, ``targetNodeCount``, ``allocationState``, ``nodeStateCounts``), which the
portal and ``az ml compute show`` users read. ``list_nodes`` POSTs ``.../listNodes``.
The dispatch by compute type is in :mod:`emulator.arm.compute_responses`.
"""

from __future__ import annotations

import re
from typing import Any

from emulator.arm.exceptions import PROVIDER
from emulator.arm.responses import WorkspaceRequest
from emulator.compute.aml_clusters import (
    AML_COMPUTE,
    DEDICATED,
    DEFAULT_IDLE_SECONDS,
    AmlClusterRecord,
    AmlClusters,
    ClusterSpec,
)
from emulator.exceptions import BadArgument, NotFound
from emulator.state import WorkspaceState

#: ``nodeIdleTimeBeforeScaleDown``: an ISO 8601 duration of hours, minutes and seconds.
_DURATION = re.compile(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?", re.IGNORECASE)
#: Settings Azure keeps and returns as sent; a password is kept but never returned.
_PASSWORD = "adminUserPassword"


def clusters(req: WorkspaceRequest) -> tuple[WorkspaceState, AmlClusters]:
    """The workspace (created on first use, as the ARM face does) and its AmlCompute clusters."""
    return req.state, AmlClusters(req.root, req.state.record)


def parse_duration(value: object) -> int:
    """Seconds of an ISO 8601 duration such as ``PT2M`` or ``PT1H30M``; a clear error else."""
    found = _DURATION.fullmatch(str(value)) if value not in (None, "") else None
    if found is None or not any(found.groups()):
        raise BadArgument(
            f"Invalid nodeIdleTimeBeforeScaleDown '{value}': an ISO 8601 duration such as "
            "'PT2M' or 'PT120S' is expected. [emulator] Pass "
            "AmlCompute(idle_time_before_scale_down=<seconds>).",
            code="BadArgument",
        )
    hours, minutes, seconds = found.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(float(seconds or 0))


def format_duration(seconds: int) -> str:
    """``seconds`` as Azure writes the idle time: ``PT2M``, ``PT1H30M``, ``PT45S``."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text + (f"{secs}S" if secs or text == "PT" else "")


def cluster_spec(body: dict[str, Any], properties: dict[str, Any]) -> ClusterSpec:
    """The create request's cluster; missing or malformed fields are named."""
    settings = properties.get("properties")
    if not isinstance(settings, dict) or not settings.get("vmSize"):
        raise BadArgument(
            "properties.properties.vmSize is required for an AmlCompute compute. [emulator] "
            "Pass AmlCompute(size='Standard_DS3_v2', ...).",
            code="BadArgument",
        )
    scale = settings.get("scaleSettings") or {}
    if not isinstance(scale, dict):
        raise BadArgument(
            "properties.properties.scaleSettings must be a JSON object (minNodeCount, "
            "maxNodeCount, nodeIdleTimeBeforeScaleDown).",
            code="BadArgument",
        )
    idle = scale.get("nodeIdleTimeBeforeScaleDown")
    kept = {
        key: value
        for key, value in settings.items()
        if key not in ("vmSize", "vmPriority", "scaleSettings")
    }
    identity = body.get("identity")
    return ClusterSpec(
        vm_size=str(settings["vmSize"]),
        min_nodes=_count(scale, "minNodeCount", 0),
        max_nodes=_count(scale, "maxNodeCount", 1),
        idle_seconds=parse_duration(idle) if idle is not None else DEFAULT_IDLE_SECONDS,
        vm_priority=str(settings.get("vmPriority") or DEDICATED),
        settings=kept,
        description=properties.get("description"),
        tags=body.get("tags") or {},
        identity=identity if isinstance(identity, dict) else None,
    )


def _count(scale: dict[str, Any], key: str, default: int) -> int:
    value = scale.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadArgument(
            f"properties.properties.scaleSettings.{key} must be a whole number, not {value!r}.",
            code="BadArgument",
        )
    return value


def cluster_body(state: WorkspaceState, record: AmlClusterRecord) -> dict[str, Any]:
    """An AmlCompute cluster as ARM returns it: the settings as sent, plus the allocation
    Azure reports (the minimum nodes allocated and idle; nothing resizing)."""
    ws = state.record
    settings = dict(record.settings)
    credentials = settings.get("userAccountCredentials")
    if isinstance(credentials, dict):
        settings["userAccountCredentials"] = {
            k: v for k, v in credentials.items() if k != _PASSWORD
        }
    nodes = record.current_nodes
    return {
        "id": (
            f"/subscriptions/{ws.subscription_id}/resourceGroups/{ws.resource_group}/providers/"
            f"{PROVIDER}/workspaces/{ws.name}/computes/{record.name}"
        ),
        "name": record.name,
        "type": f"{PROVIDER}/workspaces/computes",
        "location": record.location,
        "tags": record.tags,
        "identity": record.identity,
        "systemData": {"createdAt": record.created_time, "lastModifiedAt": record.modified_time},
        "properties": {
            "computeType": AML_COMPUTE,
            "computeLocation": record.location,
            "description": record.description,
            "resourceId": None,
            "provisioningState": "Succeeded",
            "provisioningErrors": None,
            "isAttachedCompute": False,
            "disableLocalAuth": True,
            "createdOn": record.created_time,
            "modifiedOn": record.modified_time,
            "properties": {
                "osType": "Linux",
                **settings,
                "vmSize": record.vm_size,
                "vmPriority": record.vm_priority,
                "scaleSettings": {
                    "minNodeCount": record.min_nodes,
                    "maxNodeCount": record.max_nodes,
                    "nodeIdleTimeBeforeScaleDown": format_duration(record.idle_seconds),
                },
                "allocationState": "Steady",
                "allocationStateTransitionTime": record.modified_time,
                "errors": None,
                "currentNodeCount": nodes,
                "targetNodeCount": nodes,
                "nodeStateCounts": {
                    "idleNodeCount": nodes,
                    "runningNodeCount": 0,
                    "preparingNodeCount": 0,
                    "unusableNodeCount": 0,
                    "leavingNodeCount": 0,
                    "preemptedNodeCount": 0,
                },
            },
        },
    }


def create_cluster(
    req: WorkspaceRequest, compute: str, body: dict[str, Any], properties: dict[str, Any]
) -> dict[str, Any]:
    """``begin_create_or_update(AmlCompute(...))``: created (or updated) at once."""
    state, found = clusters(req)
    record, _ = found.create_or_update(compute, cluster_spec(body, properties))
    return cluster_body(state, record)


def list_nodes(req: WorkspaceRequest, compute: str) -> Any:
    """``ml_client.compute.list_nodes``: the cluster's allocated nodes, idle (Azure's node
    ids are ``tvmps_<hex>_d`` for dedicated, ``..._p`` for low-priority nodes)."""
    state, found = clusters(req)
    record = found.find(compute)
    if record is None:
        raise NotFound(
            f"Compute '{compute}' is not found in workspace '{state.record.name}', or it is not "
            "an AmlCompute cluster (only those have nodes to list).",
            code="ResourceNotFound",
        )
    suffix = "d" if record.vm_priority == DEDICATED else "p"
    nodes = [
        {
            "nodeId": f"tvmps_{index:032x}_{suffix}",
            "privateIpAddress": f"10.0.0.{4 + index}",
            "publicIpAddress": None,
            "port": 50000 + index,
            "nodeState": "idle",
            "runId": None,
        }
        for index in range(record.current_nodes)
    ]
    return {"nodes": nodes, "nextLink": None}
