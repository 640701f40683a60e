"""Azure ML compute clusters (``AmlCompute``) of a workspace: SDK v2's training and batch
compute.

An AmlCompute cluster is a scale set Azure ML owns: a VM size, a priority (dedicated or low
priority), between ``min_instances`` and ``max_instances`` nodes, and an idle time after which
nodes above the minimum are released. Creating one succeeds at once here (Azure takes about a
minute and the client waits for it); its ``min_instances`` nodes are allocated, idle, from then on.

Why a store of its own rather than the v1 :class:`~emulator.compute.registry.ComputeRegistry`:
that registry models AKS clusters (a fixed agent count, a cluster purpose, load balancer and TLS
settings, nodes on which pods are scheduled, provisioning that completes on the clock), none of
which an AmlCompute cluster has, while its min/max/idle scale settings have no place there; the
v1 faces (``ComputeTarget.list``) would also start showing clusters v1 cannot read. What the two
share is kept shared: the VM size table and Azure's name and size rules
(:mod:`emulator.compute.rules`), the per-subscription core quota (dedicated nodes of AmlCompute
clusters count next to v1 clusters' cores) and the workspace's compute names. Kept in
``<root>/compute/amlcompute.sqlite3`` so that the daemon, ``amlemu`` and tests agree.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from emulator.compute.kubernetes import KubernetesComputes
from emulator.compute.registry import ComputeRegistry
from emulator.compute.rules import (
    location_error,
    quota_error,
    rejected,
    resolve_vm_size,
    validate_compute_name,
)
from emulator.compute.vm_sizes import VmSize
from emulator.exceptions import BadArgument, NotFound
from emulator.settings import CORE_QUOTA_ENV, core_quota
from emulator.store.database import Database, timestamp
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceRecord

AML_COMPUTE = "AmlCompute"
DEDICATED = "Dedicated"
LOW_PRIORITY = "LowPriority"
#: Azure's default idle time before a node above the minimum is released (the client's too).
DEFAULT_IDLE_SECONDS = 120

_SCHEMA = """
CREATE TABLE IF NOT EXISTS aml_clusters (
    workspace_id INTEGER NOT NULL,
    subscription_id TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE,
    location TEXT NOT NULL,
    vm_size TEXT NOT NULL,
    vm_priority TEXT NOT NULL,
    min_nodes INTEGER NOT NULL,
    max_nodes INTEGER NOT NULL,
    idle_seconds INTEGER NOT NULL,
    settings TEXT NOT NULL,
    description TEXT,
    tags TEXT NOT NULL,
    identity TEXT,
    created_time TEXT NOT NULL,
    modified_time TEXT NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
"""


@dataclass(frozen=True)
class ClusterSpec:
    """What a client sends to create (or update) a cluster."""

    vm_size: str
    min_nodes: int = 0
    max_nodes: int = 1
    idle_seconds: int = DEFAULT_IDLE_SECONDS
    vm_priority: str = DEDICATED
    #: The rest of ``properties.properties`` (OS, public IP, subnet, SSH), returned as sent.
    settings: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    identity: dict[str, Any] | None = None


@dataclass(frozen=True)
class AmlClusterRecord:
    """One cluster and the nodes it holds."""

    name: str
    location: str
    vm_size: str
    vm_priority: str
    min_nodes: int
    max_nodes: int
    idle_seconds: int
    settings: dict[str, Any]
    description: str | None
    tags: dict[str, str]
    identity: dict[str, Any] | None
    created_time: str
    modified_time: str

    @property
    def current_nodes(self) -> int:
        """Nodes allocated now: the minimum (nothing runs on the cluster, so it is scaled down
        to it, idle)."""
        return self.min_nodes

    @property
    def dedicated_cores(self) -> int:
        """vCPUs the cluster holds against the subscription's (dedicated) core quota."""
        if self.vm_priority != DEDICATED:
            return 0
        return self.current_nodes * resolve_vm_size(self.vm_size).cores


class AmlClusters:
    """The AmlCompute clusters of ``workspace`` under an emulator root."""

    def __init__(self, root: EmulatorRoot, workspace: WorkspaceRecord) -> None:
        self._root = root
        self._workspace = workspace
        self._db = Database(root.path / "compute" / "amlcompute.sqlite3", schema=_SCHEMA, version=1)

    def create_or_update(self, name: str, spec: ClusterSpec) -> tuple[AmlClusterRecord, bool]:
        """Create ``name`` (or change the scale settings, description and tags of the cluster
        of that name); returns it and whether it is new. Refused as Azure refuses it: a bad
        name or VM size, a size not offered in the location, bad scale settings, a VM size
        change, a name another compute holds, allocated nodes beyond the core quota."""
        validate_compute_name(name)
        size = resolve_vm_size(spec.vm_size)
        if not size.supports_aml_compute:
            raise BadArgument(
                f"The VM size '{size.name}' is not supported for compute type {AML_COMPUTE}. "
                "[emulator] It is an FPGA size, offered to AKS clusters only (SDK v1 "
                "AksCompute); pick a CPU or GPU size for the cluster.",
                code="BadArgument",
            )
        _check_scale(spec)
        if spec.vm_priority not in (DEDICATED, LOW_PRIORITY):
            raise BadArgument(
                f"Invalid vmPriority '{spec.vm_priority}': use '{DEDICATED}' or '{LOW_PRIORITY}'"
                " (AmlCompute(tier='dedicated' | 'low_priority')).",
                code="BadArgument",
            )
        location = self._workspace.location.lower()
        error = location_error(size, location, self._workspace.subscription_id)
        if error is not None:
            raise rejected(str(error["code"]), str(error["message"]))
        self._check_name_free(name)
        now = timestamp()
        with self._db.transaction() as conn:
            existing = self._row(conn, name)
            if existing is not None and existing["vm_size"].casefold() != size.name.casefold():
                raise BadArgument(
                    f"Compute '{name}' exists with VM size {existing['vm_size']}; the VM size of "
                    "an AmlCompute cluster cannot be updated. [emulator] Delete it "
                    "(ml_client.compute.begin_delete) and create it again with "
                    f"size='{size.name}', or pick another name.",
                    code="BadArgument",
                )
            self._check_quota(conn, name, spec, size)
            values = (
                spec.vm_priority,
                spec.min_nodes,
                spec.max_nodes,
                spec.idle_seconds,
                json.dumps(spec.settings),
                spec.description,
                json.dumps(spec.tags),
                json.dumps(spec.identity) if spec.identity else None,
            )
            if existing is None:
                conn.execute(
                    "INSERT INTO aml_clusters (workspace_id, subscription_id, name, location,"
                    " vm_size, vm_priority, min_nodes, max_nodes, idle_seconds, settings,"
                    " description, tags, identity, created_time, modified_time)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        self._workspace.id,
                        self._workspace.subscription_id,
                        name,
                        location,
                        size.name,
                        *values,
                        now,
                        now,
                    ),
                )
            else:
                conn.execute(
                    "UPDATE aml_clusters SET vm_priority = ?, min_nodes = ?, max_nodes = ?,"
                    " idle_seconds = ?, settings = ?, description = ?, tags = ?, identity = ?,"
                    " modified_time = ? WHERE workspace_id = ? AND name = ?",
                    (*values, now, self._workspace.id, name),
                )
            row = self._row(conn, name)
        assert row is not None  # written in the same transaction
        return _record(row), existing is None

    def find(self, name: str) -> AmlClusterRecord | None:
        """The cluster ``name`` (case-insensitive), or None."""
        with self._db.read() as conn:
            row = self._row(conn, name)
        return _record(row) if row is not None else None

    def list(self) -> list[AmlClusterRecord]:
        """Every AmlCompute cluster of the workspace, by name."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM aml_clusters WHERE workspace_id = ? ORDER BY name",
                (self._workspace.id,),
            ).fetchall()
        return [_record(row) for row in rows]

    def delete(self, name: str) -> None:
        """Delete the cluster ``name`` and release its nodes; :class:`NotFound` when unknown."""
        with self._db.transaction() as conn:
            row = self._row(conn, name)
            if row is None:
                raise NotFound(
                    f"Compute '{name}' is not found in workspace '{self._workspace.name}'.",
                    code="ResourceNotFound",
                )
            conn.execute(
                "DELETE FROM aml_clusters WHERE workspace_id = ? AND name = ?",
                (self._workspace.id, row["name"]),
            )

    def cores_in_use(self) -> int:
        """Dedicated vCPUs the workspace's subscription holds in AmlCompute clusters."""
        with self._db.read() as conn:
            return self._subscription_cores(conn)

    def _subscription_cores(self, conn: sqlite3.Connection, excluding: str | None = None) -> int:
        """Dedicated vCPUs the workspace's subscription holds in AmlCompute clusters (every
        workspace), leaving out this workspace's cluster ``excluding`` (one being updated)."""
        rows = conn.execute(
            "SELECT * FROM aml_clusters WHERE subscription_id = ?",
            (self._workspace.subscription_id,),
        ).fetchall()
        return sum(
            _record(r).dedicated_cores
            for r in rows
            if not (
                excluding is not None
                and r["workspace_id"] == self._workspace.id
                and r["name"].casefold() == excluding.casefold()
            )
        )

    def _check_quota(
        self, conn: sqlite3.Connection, name: str, spec: ClusterSpec, size: VmSize
    ) -> None:
        """Allocating the minimum nodes must fit the subscription's core quota (low-priority
        nodes have a quota of their own in Azure, not emulated: they are never refused)."""
        if spec.vm_priority != DEDICATED:
            return
        requested = spec.min_nodes * size.cores
        if not requested:
            return
        in_use = self._subscription_cores(conn, excluding=name)
        in_use += ComputeRegistry(self._root, self._workspace).cores_in_use()
        quota = core_quota()
        if in_use + requested > quota:
            error = quota_error(quota, in_use, requested, CORE_QUOTA_ENV)
            azure_text = str(error["message"]).split(" [emulator]")[0]
            raise rejected(
                "QuotaExceeded",
                f"{azure_text} [emulator] The quota comes from {CORE_QUOTA_ENV}; delete "
                "clusters (ml_client.compute.begin_delete) or allocate fewer nodes at rest "
                f"(min_instances; '{name}' asks for {spec.min_nodes} x {size.name}).",
            )

    def _check_name_free(self, name: str) -> None:
        """A workspace's computes share one namespace: v1 AKS targets, Kubernetes, AmlCompute."""
        if ComputeRegistry(self._root, self._workspace).get(name) is not None:
            holder = "an AKS compute target (SDK v1)"
        elif KubernetesComputes(self._root, self._workspace).find(name) is not None:
            holder = "an attached Kubernetes compute"
        else:
            return
        raise rejected(
            "Conflict",
            f"Compute with name {name} already exists in workspace {self._workspace.name}: it "
            f"is {holder}. [emulator] Pick another name, or delete/detach it first "
            "(ml_client.compute.begin_delete).",
            status=409,
        )

    def _row(self, conn: sqlite3.Connection, name: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM aml_clusters WHERE workspace_id = ? AND name = ?",
            (self._workspace.id, name),
        ).fetchone()
        return row


def _check_scale(spec: ClusterSpec) -> None:
    """Azure's scale-setting rules: counts are whole and not negative, at least one node at
    most, the minimum not above the maximum."""
    if spec.min_nodes < 0 or spec.max_nodes < 0:
        raise BadArgument(
            f"Invalid scale settings: minNodeCount ({spec.min_nodes}) and maxNodeCount "
            f"({spec.max_nodes}) must not be negative.",
            code="BadArgument",
        )
    if spec.max_nodes < 1:
        raise BadArgument(
            "Invalid scale settings: maxNodeCount must be at least 1. [emulator] Set "
            "AmlCompute(max_instances=...) to 1 or more.",
            code="BadArgument",
        )
    if spec.min_nodes > spec.max_nodes:
        raise BadArgument(
            f"Invalid scale settings: minNodeCount ({spec.min_nodes}) must be less than or equal "
            f"to maxNodeCount ({spec.max_nodes}). [emulator] Lower min_instances or raise "
            "max_instances.",
            code="BadArgument",
        )
    if spec.idle_seconds < 0:
        raise BadArgument(
            "Invalid scale settings: nodeIdleTimeBeforeScaleDown must not be negative.",
            code="BadArgument",
        )


def _record(row: sqlite3.Row) -> AmlClusterRecord:
    return AmlClusterRecord(
        name=row["name"],
        location=row["location"],
        vm_size=row["vm_size"],
        vm_priority=row["vm_priority"],
        min_nodes=row["min_nodes"],
        max_nodes=row["max_nodes"],
        idle_seconds=row["idle_seconds"],
        settings=json.loads(row["settings"]),
        description=row["description"],
        tags=json.loads(row["tags"]),
        identity=json.loads(row["identity"]) if row["identity"] else None,
        created_time=row["created_time"],
        modified_time=row["modified_time"],
    )
