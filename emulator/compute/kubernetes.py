"""Kubernetes clusters attached to a workspace as SDK v2 ``KubernetesCompute`` targets.

Azure ML's Kubernetes compute is a cluster (AKS, or Arc-connected) with the Azure ML extension,
attached under a name with a namespace and *instance types*: named resource requests/limits
(plus a node selector) that online deployments pick with ``instance_type``. Attaching creates
``defaultinstancetype`` when the cluster has none of that name (Azure's definition: requests
100m CPU / 2Gi memory, limits 2 CPU / 2Gi memory, any node), and it is the cluster's default
unless ``defaultInstanceType`` names another of its types.

The cluster itself is not provisioned here (it exists outside Azure ML: ``az aks create``), so
attaching is immediate and any well-formed cluster resource id is accepted. Kept in
``<root>/compute/kubernetes.sqlite3`` so that the daemon, ``amlemu`` and tests agree; names share
the workspace's compute namespace with the v1 AKS targets of :mod:`emulator.compute.registry`.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from emulator.compute.quantities import check_resources
from emulator.compute.registry import ComputeRegistry
from emulator.compute.rules import rejected, validate_compute_name
from emulator.exceptions import BadArgument, NotFound
from emulator.store.database import Database, timestamp
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceRecord

KUBERNETES = "Kubernetes"
DEFAULT_INSTANCE_TYPE = "defaultinstancetype"
#: What Azure creates on attach (learn.microsoft.com: "Create and manage instance types").
DEFAULT_INSTANCE_TYPE_SPEC: dict[str, Any] = {
    "nodeSelector": None,
    "resources": {
        "requests": {"cpu": "100m", "memory": "2Gi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    },
}
#: The clusters Azure ML attaches: AKS, or any cluster connected through Azure Arc.
_CLUSTER_ID = re.compile(
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
    r"(Microsoft\.ContainerService/managedClusters|Microsoft\.Kubernetes/connectedClusters)"
    r"/[^/]+",
    re.IGNORECASE,
)
#: Kubernetes' rule for object names (an instance type is a custom resource): RFC 1123 label.
_INSTANCE_TYPE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kubernetes_computes (
    workspace_id INTEGER NOT NULL,
    name TEXT NOT NULL COLLATE NOCASE,
    resource_id TEXT NOT NULL,
    namespace TEXT NOT NULL,
    default_instance_type TEXT NOT NULL,
    instance_types TEXT NOT NULL,
    description TEXT,
    tags TEXT NOT NULL,
    identity TEXT,
    created_time TEXT NOT NULL,
    modified_time TEXT NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
"""


@dataclass(frozen=True)
class KubernetesSpec:
    """What a client sends to attach (or re-attach) a cluster."""

    resource_id: str
    namespace: str = "default"
    default_instance_type: str | None = None
    instance_types: dict[str, dict[str, Any]] = field(default_factory=dict)
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    identity: dict[str, Any] | None = None


@dataclass(frozen=True)
class KubernetesComputeRecord:
    """One attached cluster, with every instance type it offers."""

    name: str
    resource_id: str
    namespace: str
    default_instance_type: str
    instance_types: dict[str, dict[str, Any]]
    description: str | None
    tags: dict[str, str]
    identity: dict[str, Any] | None
    created_time: str
    modified_time: str

    def instance_type(self, name: str | None) -> tuple[str, dict[str, Any]]:
        """The instance type ``name`` (the default one for None) and its definition; a
        :class:`BadArgument` naming the cluster's instance types when it has no such type."""
        wanted = name or self.default_instance_type
        for known, spec in self.instance_types.items():
            if known.casefold() == wanted.casefold():
                return known, spec
        raise BadArgument(
            f"Instance type '{wanted}' is not found in compute '{self.name}'. [emulator] Its "
            f"instance types: {', '.join(sorted(self.instance_types))}; add one with "
            "ml_client.compute.begin_create_or_update(KubernetesCompute(..., properties="
            '{"instanceTypes": {...}})), or pick one of these.',
            code="BadArgument",
        )


class KubernetesComputes:
    """The Kubernetes computes attached to ``workspace`` under an emulator root."""

    def __init__(self, root: EmulatorRoot, workspace: WorkspaceRecord) -> None:
        self._root = root
        self._workspace = workspace
        self._db = Database(root.path / "compute" / "kubernetes.sqlite3", schema=_SCHEMA, version=1)

    def attach(self, name: str, spec: KubernetesSpec) -> tuple[KubernetesComputeRecord, bool]:
        """Attach the cluster ``spec.resource_id`` as ``name`` (or replace the settings of the
        same cluster attached as ``name``); returns the compute and whether it is new."""
        validate_compute_name(name)
        _check_cluster_id(spec.resource_id)
        if not spec.namespace or not _INSTANCE_TYPE_NAME.fullmatch(spec.namespace):
            raise BadArgument(
                f"Invalid namespace '{spec.namespace}': a Kubernetes namespace is a DNS label "
                "(lowercase letters, digits and '-', at most 63 characters).",
                code="BadArgument",
            )
        types = _instance_types(name, spec.instance_types)
        default = spec.default_instance_type or DEFAULT_INSTANCE_TYPE
        if default not in types:
            raise BadArgument(
                f"Default instance type '{default}' of compute '{name}' is not one of its "
                f"instance types: {', '.join(sorted(types))}.",
                code="BadArgument",
            )
        if ComputeRegistry(self._root, self._workspace).get(name) is not None:
            raise _in_use(name, self._workspace.name, "an AKS compute target (SDK v1)")
        now = timestamp()
        with self._db.transaction() as conn:
            existing = self._row(conn, name)
            if existing is not None and existing["resource_id"].casefold() != (
                spec.resource_id.casefold()
            ):
                raise _in_use(name, self._workspace.name, f"cluster {existing['resource_id']}")
            values = (
                spec.resource_id,
                spec.namespace,
                default,
                json.dumps(types),
                spec.description,
                json.dumps(spec.tags),
                json.dumps(spec.identity) if spec.identity else None,
            )
            if existing is None:
                conn.execute(
                    "INSERT INTO kubernetes_computes (workspace_id, name, resource_id, namespace,"
                    " default_instance_type, instance_types, description, tags, identity,"
                    " created_time, modified_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (self._workspace.id, name, *values, now, now),
                )
            else:
                conn.execute(
                    "UPDATE kubernetes_computes SET resource_id = ?, namespace = ?,"
                    " default_instance_type = ?, instance_types = ?, description = ?, tags = ?,"
                    " identity = ?, modified_time = ? WHERE workspace_id = ? AND name = ?",
                    (*values, now, self._workspace.id, name),
                )
            row = self._row(conn, name)
        assert row is not None  # written in the same transaction
        return _record(row), existing is None

    def find(self, name: str) -> KubernetesComputeRecord | None:
        """The compute ``name`` (case-insensitive), or None."""
        with self._db.read() as conn:
            row = self._row(conn, name)
        return _record(row) if row is not None else None

    def get(self, name: str) -> KubernetesComputeRecord:
        """The compute ``name``; :class:`NotFound` naming the attached ones otherwise."""
        found = self.find(name)
        if found is None:
            names = ", ".join(f"'{r.name}'" for r in self.list()) or "none"
            raise NotFound(
                f"Compute '{name}' is not found in workspace '{self._workspace.name}'. "
                f"[emulator] Kubernetes computes attached here: {names}; attach one with "
                "ml_client.compute.begin_create_or_update(KubernetesCompute(...)).",
                code="ResourceNotFound",
            )
        return found

    def list(self) -> list[KubernetesComputeRecord]:
        """Every Kubernetes compute of the workspace, by name."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM kubernetes_computes WHERE workspace_id = ? ORDER BY name",
                (self._workspace.id,),
            ).fetchall()
        return [_record(row) for row in rows]

    def detach(self, name: str) -> None:
        """Detach ``name`` (the cluster itself lives on); :class:`NotFound` when unknown."""
        record = self.get(name)
        with self._db.read() as conn:
            conn.execute(
                "DELETE FROM kubernetes_computes WHERE workspace_id = ? AND name = ?",
                (self._workspace.id, record.name),
            )

    def _row(self, conn: sqlite3.Connection, name: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM kubernetes_computes WHERE workspace_id = ? AND name = ?",
            (self._workspace.id, name),
        ).fetchone()
        return row


def _check_cluster_id(resource_id: str) -> None:
    if not resource_id or not _CLUSTER_ID.fullmatch(resource_id):
        raise BadArgument(
            f"Invalid resource id '{resource_id}' of a Kubernetes compute: it must be the ARM id "
            "of an AKS cluster (/subscriptions/<sub>/resourceGroups/<rg>/providers/"
            "Microsoft.ContainerService/managedClusters/<name>) or of an Arc-connected cluster "
            "(.../providers/Microsoft.Kubernetes/connectedClusters/<name>). [emulator] Pass it "
            "as KubernetesCompute(resource_id=...).",
            code="BadArgument",
        )


def _instance_types(compute: str, given: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The cluster's instance types: ``given`` (checked) plus Azure's default one."""
    if not isinstance(given, dict):
        raise BadArgument(
            f"properties.instanceTypes of compute '{compute}' must map instance type names to "
            '{"nodeSelector": {...}, "resources": {"requests": {...}, "limits": {...}}}.',
            code="BadArgument",
        )
    types: dict[str, dict[str, Any]] = {}
    for name, spec in given.items():
        if not _INSTANCE_TYPE_NAME.fullmatch(name):
            raise BadArgument(
                f"Invalid instance type name '{name}': instance types are Kubernetes objects, "
                "named with lowercase letters, digits and '-' (a DNS label, at most 63 "
                "characters).",
                code="BadArgument",
            )
        spec = spec if isinstance(spec, dict) else {}
        resources = spec.get("resources") or {}
        if not isinstance(resources, dict):
            resources = {}
        requests = resources.get("requests") or {}
        limits = resources.get("limits") or {}
        check_resources(f"instance type '{name}'", requests, limits)
        selector = spec.get("nodeSelector")
        types[name] = {
            "nodeSelector": selector if isinstance(selector, dict) else None,
            "resources": {"requests": dict(requests), "limits": dict(limits)},
        }
    types.setdefault(DEFAULT_INSTANCE_TYPE, DEFAULT_INSTANCE_TYPE_SPEC)
    return types


def _in_use(name: str, workspace: str, holder: str) -> Exception:
    return rejected(
        "Conflict",
        f"Compute with name {name} already exists in workspace {workspace}: it is {holder}. "
        "[emulator] Pick another name, or detach it first "
        "(ml_client.compute.begin_delete(name, action='Detach')).",
        status=409,
    )


def _record(row: sqlite3.Row) -> KubernetesComputeRecord:
    return KubernetesComputeRecord(
        name=row["name"],
        resource_id=row["resource_id"],
        namespace=row["namespace"],
        default_instance_type=row["default_instance_type"],
        instance_types=json.loads(row["instance_types"]),
        description=row["description"],
        tags=json.loads(row["tags"]),
        identity=json.loads(row["identity"]) if row["identity"] else None,
        created_time=row["created_time"],
        modified_time=row["modified_time"],
    )
