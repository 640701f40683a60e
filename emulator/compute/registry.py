"""Compute targets of one workspace, kept in the root's SQLite database.

Creating (or attaching) a cluster records it ``Creating`` with the state it will reach
(``Succeeded``, or ``Failed`` with Azure's error when the subscription's core quota or the
location does not allow it) after :func:`~emulator.settings.provisioning_seconds`; deleting
records ``Deleting`` the same way. Readers compute the current state from the clock, so an
operation started by one process completes for every other, and nothing is left running.

The quota is per subscription: every cluster of the subscription (in any workspace, attached
or not) that exists or is being created holds its ``agent_count x cores``. Replica
reservations (:meth:`ComputeRegistry.reserve`) let services on one cluster see each other's
pods when the next one is scheduled.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterable

from emulator.compute.records import ClusterPurpose, ClusterRecord, ProvisioningState
from emulator.compute.rules import (
    check_cluster_size,
    location_error,
    quota_error,
    rejected,
    resolve_vm_size,
    validate_compute_name,
)
from emulator.compute.scheduling import Placement, Usage, schedule
from emulator.faults.points import provisioning_error
from emulator.settings import CORE_QUOTA_ENV, core_quota, provisioning_seconds
from emulator.store.database import timestamp
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceRecord

AKS = "AKS"


def _holds_cores(row: sqlite3.Row, now: float) -> bool:
    """Whether a cluster counts against the quota: it exists, or is being created successfully."""
    record_state = ProvisioningState(row["state"])
    pending = row["pending_state"]
    settled = pending is not None and now >= row["ready_at"]
    state = ProvisioningState(pending) if settled else record_state
    if state in (ProvisioningState.SUCCEEDED, ProvisioningState.DELETING):
        return True
    return state is ProvisioningState.CREATING and pending == ProvisioningState.SUCCEEDED.value


class ComputeRegistry:
    """The compute targets of ``workspace`` under an emulator root."""

    def __init__(self, root: EmulatorRoot, workspace: WorkspaceRecord) -> None:
        self.root = root
        self.workspace = workspace

    # -- reads -----------------------------------------------------------------------------------

    def get(self, name: str) -> ClusterRecord | None:
        """The compute target called ``name`` in this workspace (``None`` when there is none)."""
        found = self._select("SELECT * FROM compute_targets WHERE workspace_id=? AND name=?", name)
        return found[0] if found else None

    def records(self) -> list[ClusterRecord]:
        """Every compute target of this workspace, by name."""
        return self._select("SELECT * FROM compute_targets WHERE workspace_id=? ORDER BY name")

    def cores_in_use(self) -> int:
        """vCPUs the workspace's subscription holds in clusters (what the quota counts)."""
        now = time.time()
        with self.root.db.read() as conn:
            rows = self._subscription_rows(conn)
        return sum(ClusterRecord.from_row(r, now).cores for r in rows if _holds_cores(r, now))

    # -- provisioning ----------------------------------------------------------------------------

    def create_aks(
        self,
        name: str,
        *,
        vm_size: str,
        agent_count: int,
        cluster_purpose: str,
        location: str | None = None,
        load_balancer_type: str = "PublicIp",
        load_balancer_subnet: str | None = None,
        ssl: dict[str, str] | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> ClusterRecord:
        """Start provisioning a new AKS cluster; returns it ``Creating``.

        Rejected at once (``ComputeError``: the resource provider's 400, or 409) for a bad
        name, an unknown VM size, a FastProd cluster under 12 vCPUs or a name in use; the core
        quota and the size's regions fail the provisioning itself (``Failed`` with an error).
        """
        validate_compute_name(name)
        size = resolve_vm_size(vm_size)
        check_cluster_size(size, agent_count, cluster_purpose)
        location = (location or self.workspace.location).lower()
        now = time.time()
        with self.root.db.transaction() as conn:
            self._purge(conn, now)
            self._check_free(conn, name)
            in_use = sum(
                ClusterRecord.from_row(r, now).cores
                for r in self._subscription_rows(conn)
                if _holds_cores(r, now)
            )
            requested = agent_count * size.cores
            quota = core_quota()
            error = location_error(size, location, self.workspace.subscription_id)
            if error is None and in_use + requested > quota:
                error = quota_error(quota, in_use, requested, CORE_QUOTA_ENV)
            if error is None:
                error = provisioning_error(self.root.path, self.workspace.id)
            outcome = ProvisioningState.FAILED if error else ProvisioningState.SUCCEEDED
            errors = [{"error": error}] if error else []
            cur = conn.execute(
                "INSERT INTO compute_targets (workspace_id, name, compute_type, subscription_id,"
                " resource_group, cluster_name, location, vm_size, agent_count, cluster_purpose,"
                " load_balancer_type, load_balancer_subnet, ssl, description, tags, is_attached,"
                " state, pending_state, ready_at, errors, created_time, updated_time)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)",
                (
                    self.workspace.id,
                    name,
                    AKS,
                    self.workspace.subscription_id,
                    self.workspace.resource_group,
                    f"{name}{secrets.token_hex(3)[:5]}",
                    location,
                    size.name,
                    agent_count,
                    cluster_purpose,
                    load_balancer_type,
                    load_balancer_subnet,
                    json.dumps(ssl or {}),
                    description,
                    json.dumps(tags or {}),
                    ProvisioningState.CREATING.value,
                    outcome.value,
                    now + provisioning_seconds(),
                    json.dumps(errors),
                    timestamp(),
                    timestamp(),
                ),
            )
            compute_id = cur.lastrowid
        return self._by_id(compute_id)

    def attach_aks(
        self,
        name: str,
        *,
        resource_group: str,
        cluster_name: str,
        cluster_purpose: str | None = None,
        load_balancer_type: str | None = None,
        load_balancer_subnet: str | None = None,
        ssl: dict[str, str] | None = None,
    ) -> ClusterRecord:
        """Attach an existing, unattached cluster of the subscription under ``name`` (``ssl``:
        the attach configuration's, replacing the cluster's).

        The cluster purpose defaults to FastProd, as for a new cluster.
        """
        validate_compute_name(name)
        now = time.time()
        with self.root.db.transaction() as conn:
            self._purge(conn, now)
            self._check_free(conn, name)
            rows = [
                r
                for r in self._subscription_rows(conn)
                if r["resource_group"].lower() == resource_group.lower()
                and r["cluster_name"].lower() == cluster_name.lower()
            ]
            record = ClusterRecord.from_row(rows[0], now) if rows else None
            if record is None or record.state is not ProvisioningState.SUCCEEDED:
                raise rejected(
                    "NotFound",
                    "The Resource 'Microsoft.ContainerService/managedClusters/"
                    f"{cluster_name}' under resource group '{resource_group}' was not found. "
                    f"[emulator] Clusters that can be attached: {self._detached(conn, now)}.",
                    status=404,
                )
            if record.workspace_id is not None:
                raise rejected(
                    "BadArgument",
                    f"The AKS cluster {record.cluster_resource_id} is already attached to a "
                    "workspace. [emulator] Detach it there first (compute_target.detach()).",
                )
            purpose = cluster_purpose or ClusterPurpose.FAST_PROD.value
            check_cluster_size(record.size, record.agent_count, purpose)
            conn.execute(
                "UPDATE compute_targets SET workspace_id=?, name=?, is_attached=1,"
                " cluster_purpose=?, load_balancer_type=?, load_balancer_subnet=?, ssl=?, state=?,"
                " pending_state=?, ready_at=?, errors='[]', updated_time=? WHERE id=?",
                (
                    self.workspace.id,
                    name,
                    purpose,
                    load_balancer_type or record.load_balancer_type,
                    load_balancer_subnet or record.load_balancer_subnet,
                    json.dumps(dict(record.ssl) if ssl is None else ssl),
                    ProvisioningState.CREATING.value,
                    ProvisioningState.SUCCEEDED.value,
                    now + provisioning_seconds(),
                    timestamp(),
                    record.id,
                ),
            )
        return self._by_id(record.id)

    def update_aks(
        self,
        name: str,
        *,
        ssl: dict[str, str] | None = None,
        load_balancer_type: str | None = None,
        load_balancer_subnet: str | None = None,
    ) -> ClusterRecord:
        """Change a cluster's SSL configuration or load balancer (``None``: kept)."""
        now = time.time()
        with self.root.db.transaction() as conn:
            record = self._require(conn, name, now)
            conn.execute(
                "UPDATE compute_targets SET ssl=?, load_balancer_type=?, load_balancer_subnet=?,"
                " updated_time=? WHERE id=?",
                (
                    json.dumps(dict(record.ssl) if ssl is None else ssl),
                    load_balancer_type or record.load_balancer_type,
                    load_balancer_subnet or record.load_balancer_subnet,
                    timestamp(),
                    record.id,
                ),
            )
        return self._by_id(record.id)

    def delete(self, name: str) -> ClusterRecord:
        """Start deleting the cluster (and its replica reservations); returns it ``Deleting``."""
        now = time.time()
        with self.root.db.transaction() as conn:
            record = self._require(conn, name, now)
            conn.execute("DELETE FROM compute_reservations WHERE compute_id=?", (record.id,))
            if record.state is ProvisioningState.FAILED:
                # Nothing was provisioned: the record goes at once.
                conn.execute("DELETE FROM compute_targets WHERE id=?", (record.id,))
                return record
            conn.execute(
                "UPDATE compute_targets SET state=?, pending_state=?, ready_at=?, updated_time=?"
                " WHERE id=?",
                (
                    ProvisioningState.DELETING.value,
                    ProvisioningState.DELETED.value,
                    now + provisioning_seconds(),
                    timestamp(),
                    record.id,
                ),
            )
        return self._by_id(record.id)

    def detach(self, name: str) -> None:
        """Remove the target from the workspace; the cluster lives on (and can be attached)."""
        now = time.time()
        with self.root.db.transaction() as conn:
            record = self._require(conn, name, now)
            conn.execute("DELETE FROM compute_reservations WHERE compute_id=?", (record.id,))
            if record.state is not ProvisioningState.SUCCEEDED:
                conn.execute("DELETE FROM compute_targets WHERE id=?", (record.id,))
                return
            conn.execute(
                "UPDATE compute_targets SET workspace_id=NULL, name=NULL, state=?,"
                " pending_state=NULL, updated_time=? WHERE id=?",
                (ProvisioningState.SUCCEEDED.value, timestamp(), record.id),
            )

    # -- scheduling ------------------------------------------------------------------------------

    def schedule(
        self,
        name: str,
        replicas: int,
        cpu_cores: float,
        memory_gb: float,
        gpu_cores: float = 0,
        fpgas: int = 0,
        *,
        owner: str | None = None,
    ) -> Placement:
        """Would ``replicas`` pods fit next to the other owners' reserved pods? (No change.)"""
        now = time.time()
        with self.root.db.read() as conn:
            record = self._require(conn, name, now)
            used = self._usage(conn, record.id, exclude=owner)
        return schedule(record.nodes, replicas, cpu_cores, memory_gb, gpu_cores, fpgas, used)

    def reserve(
        self,
        name: str,
        owner: str,
        replicas: int,
        cpu_cores: float,
        memory_gb: float,
        gpu_cores: float = 0,
        fpgas: int = 0,
    ) -> Placement:
        """Schedule ``owner``'s pods, replacing its earlier reservation when they all fit.

        When they do not fit, nothing changes and the placement carries Kubernetes' reason.
        """
        now = time.time()
        with self.root.db.transaction() as conn:
            record = self._require(conn, name, now)
            used = self._usage(conn, record.id, exclude=owner)
            placement = schedule(
                record.nodes, replicas, cpu_cores, memory_gb, gpu_cores, fpgas, used
            )
            if placement.fits:
                conn.execute(
                    "DELETE FROM compute_reservations WHERE compute_id=? AND owner=?",
                    (record.id, owner),
                )
                conn.executemany(
                    "INSERT INTO compute_reservations (compute_id, owner, replica, node,"
                    " cpu_cores, memory_gb, gpus, fpgas) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (record.id, owner, index, node, cpu_cores, memory_gb, gpu_cores, fpgas)
                        for index, node in enumerate(placement.nodes)
                    ],
                )
        return placement

    def release(self, name: str, owner: str) -> None:
        """Drop ``owner``'s reserved pods (no error when there are none, or no cluster)."""
        with self.root.db.transaction() as conn:
            conn.execute(
                "DELETE FROM compute_reservations WHERE owner=? AND compute_id IN"
                " (SELECT id FROM compute_targets WHERE workspace_id=? AND name=?)",
                (owner, self.workspace.id, name),
            )

    def reservations(self, name: str) -> dict[str, tuple[str, ...]]:
        """Owner → the node of each of its reserved pods."""
        with self.root.db.read() as conn:
            rows = conn.execute(
                "SELECT r.owner, r.node FROM compute_reservations r JOIN compute_targets c"
                " ON c.id = r.compute_id WHERE c.workspace_id=? AND c.name=?"
                " ORDER BY r.owner, r.replica",
                (self.workspace.id, name),
            ).fetchall()
        placed: dict[str, list[str]] = {}
        for row in rows:
            placed.setdefault(row["owner"], []).append(row["node"])
        return {owner: tuple(nodes) for owner, nodes in placed.items()}

    def node_usage(self, name: str) -> dict[str, Usage]:
        """Node → what every reserved pod on it requests (empty for an unknown cluster)."""
        with self.root.db.read() as conn:
            row = conn.execute(
                "SELECT id FROM compute_targets WHERE workspace_id=? AND name=?",
                (self.workspace.id, name),
            ).fetchone()
            return self._usage(conn, row["id"], exclude=None) if row else {}

    # -- helpers ---------------------------------------------------------------------------------

    def _by_id(self, compute_id: int | None) -> ClusterRecord:
        with self.root.db.read() as conn:
            row = conn.execute("SELECT * FROM compute_targets WHERE id=?", (compute_id,)).fetchone()
        return ClusterRecord.from_row(row, time.time())

    def _select(self, query: str, *args: object) -> list[ClusterRecord]:
        now = time.time()
        with self.root.db.read() as conn:
            rows = conn.execute(query, (self.workspace.id, *args)).fetchall()
        return _live(ClusterRecord.from_row(row, now) for row in rows)

    def _require(self, conn: sqlite3.Connection, name: str, now: float) -> ClusterRecord:
        row = conn.execute(
            "SELECT * FROM compute_targets WHERE workspace_id=? AND name=?",
            (self.workspace.id, name),
        ).fetchone()
        found = _live([ClusterRecord.from_row(row, now)]) if row else []
        if not found:
            raise LookupError(f"no compute target {name!r} in workspace {self.workspace.name!r}")
        return found[0]

    def _check_free(self, conn: sqlite3.Connection, name: str) -> None:
        row = conn.execute(
            "SELECT id FROM compute_targets WHERE workspace_id=? AND name=?",
            (self.workspace.id, name),
        ).fetchone()
        if row is not None:
            raise rejected(
                "Conflict",
                f"Compute with name {name} already exists in workspace {self.workspace.name}. "
                "[emulator] Use ComputeTarget(workspace, name) to reuse it, or delete it first.",
                status=409,
            )

    def _subscription_rows(self, conn: sqlite3.Connection) -> list[sqlite3.Row]:
        return conn.execute(
            "SELECT * FROM compute_targets WHERE subscription_id=?",
            (self.workspace.subscription_id,),
        ).fetchall()

    def _detached(self, conn: sqlite3.Connection, now: float) -> str:
        records = [
            ClusterRecord.from_row(r, now)
            for r in self._subscription_rows(conn)
            if r["workspace_id"] is None
        ]
        names = [r.cluster_resource_id for r in _live(records)]
        return ", ".join(names) or "none"

    def _usage(
        self, conn: sqlite3.Connection, compute_id: int, exclude: str | None
    ) -> dict[str, Usage]:
        used: dict[str, Usage] = {}
        for row in conn.execute(
            "SELECT * FROM compute_reservations WHERE compute_id=?", (compute_id,)
        ):
            if row["owner"] == exclude:
                continue
            used[row["node"]] = used.get(row["node"], Usage()).plus(
                row["cpu_cores"], row["memory_gb"], row["gpus"], row["fpgas"]
            )
        return used

    @staticmethod
    def _purge(conn: sqlite3.Connection, now: float) -> None:
        """Remove clusters whose deletion has completed (inside a write transaction)."""
        conn.execute(
            "DELETE FROM compute_targets WHERE pending_state=? AND ready_at<=?",
            (ProvisioningState.DELETED.value, now),
        )


def _live(records: Iterable[ClusterRecord]) -> list[ClusterRecord]:
    return [r for r in records if r.state is not ProvisioningState.DELETED]
