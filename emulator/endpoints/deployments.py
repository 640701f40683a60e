"""The online deployments of a workspace's endpoints, beside the endpoints in SQLite.

A deployment record is what ARM shows of it: the request's properties as the client sent them
(model, code, environment ids, instance type, scale), the image built for it, and its
provisioning state (``Creating`` or ``Updating``, ``Succeeded``, ``Failed`` with Azure's error).
The replicas themselves live in the process that created the deployment (see
:mod:`emulator.services.online`); the record survives it so that ``get`` and ``list`` agree
across processes.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from emulator.exceptions import NotFound
from emulator.store.database import Database, timestamp
from emulator.store.root import EmulatorRoot

#: States of a deployment whose create or update is still running.
IN_PROGRESS = ("Creating", "Updating")
_SETTLE_POLL_SECONDS = 0.05

_SCHEMA = """
CREATE TABLE IF NOT EXISTS online_deployments (
    workspace_id INTEGER NOT NULL,
    endpoint TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE,
    properties TEXT NOT NULL,
    tags TEXT NOT NULL,
    sku TEXT NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    created_time TEXT NOT NULL,
    modified_time TEXT NOT NULL,
    PRIMARY KEY (workspace_id, endpoint, name)
);
"""
#: The format of endpoints.sqlite3, shared by the deployments and the endpoints
#: (:mod:`emulator.endpoints.registry`) in it: 2 added the endpoints' ``mirror_traffic``.
FORMAT = 2


@dataclass(frozen=True)
class DeploymentRecord:
    """One stored online deployment."""

    endpoint: str
    name: str
    properties: dict[str, Any]
    tags: dict[str, str]
    sku: dict[str, Any]
    state: str
    error: dict[str, Any] | None
    created_time: str
    modified_time: str


class OnlineDeployments:
    """The online deployments of the workspace ``workspace_id`` of ``root``."""

    def __init__(self, root: EmulatorRoot, workspace_id: int) -> None:
        self.workspace_id = workspace_id
        self._db = Database(
            root.path / "endpoints" / "endpoints.sqlite3", schema=_SCHEMA, version=FORMAT
        )

    def put(
        self,
        endpoint: str,
        name: str,
        properties: dict[str, Any],
        tags: dict[str, str],
        sku: dict[str, Any],
    ) -> DeploymentRecord:
        """Create ``name`` in state ``Creating``, or replace it in state ``Updating`` (Azure's
        states while an update rolls out; the creation time is kept)."""
        now = timestamp()
        with self._db.read() as conn:
            conn.execute(
                "INSERT INTO online_deployments VALUES (?, ?, ?, ?, ?, ?, 'Creating', NULL, ?, ?) "
                "ON CONFLICT (workspace_id, endpoint, name) DO UPDATE SET "
                "properties = excluded.properties, tags = excluded.tags, sku = excluded.sku, "
                "state = 'Updating', error = NULL, modified_time = excluded.modified_time",
                (
                    self.workspace_id,
                    endpoint,
                    name,
                    json.dumps(properties),
                    json.dumps(tags),
                    json.dumps(sku),
                    now,
                    now,
                ),
            )
        return self.get(endpoint, name)

    def set_state(
        self, endpoint: str, name: str, state: str, error: dict[str, Any] | None = None
    ) -> DeploymentRecord:
        """Record the outcome of creating ``name`` (``Succeeded``, or ``Failed`` with ``error``)."""
        with self._db.read() as conn:
            conn.execute(
                "UPDATE online_deployments SET state = ?, error = ?, modified_time = ? "
                "WHERE workspace_id = ? AND endpoint = ? AND name = ?",
                (
                    state,
                    None if error is None else json.dumps(error),
                    timestamp(),
                    self.workspace_id,
                    endpoint,
                    name,
                ),
            )
        return self.get(endpoint, name)

    def get(self, endpoint: str, name: str) -> DeploymentRecord:
        """The deployment; :class:`NotFound` naming the endpoint's deployments otherwise."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT * FROM online_deployments WHERE workspace_id = ? AND endpoint = ? "
                "AND name = ?",
                (self.workspace_id, endpoint, name),
            ).fetchone()
        if row is None:
            names = ", ".join(f"'{d.name}'" for d in self.list(endpoint)) or "none"
            raise NotFound(
                f"Deployment '{name}' of online endpoint '{endpoint}' does not exist. [emulator] "
                f"Deployments of this endpoint: {names}; create it with "
                "ml_client.online_deployments.begin_create_or_update.",
                code="ResourceNotFound",
            )
        return _record(row)

    def settled(self, endpoint: str, name: str, timeout: float) -> DeploymentRecord:
        """The deployment once it is no longer ``Creating`` or ``Updating``, or as it is after
        ``timeout`` seconds: an operation-status poll held this long ends as soon as the
        provisioning does, instead of the client's next poll (azure-ai-ml waits 5 s)."""
        deadline = time.monotonic() + timeout
        while True:
            record = self.get(endpoint, name)
            if record.state not in IN_PROGRESS or time.monotonic() >= deadline:
                return record
            time.sleep(_SETTLE_POLL_SECONDS)

    def all(self) -> list[DeploymentRecord]:
        """Every deployment of the workspace's endpoints (what holds its quota)."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM online_deployments WHERE workspace_id = ? ORDER BY endpoint, name",
                (self.workspace_id,),
            ).fetchall()
        return [_record(row) for row in rows]

    def list(self, endpoint: str) -> list[DeploymentRecord]:
        """The endpoint's deployments, by name."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM online_deployments WHERE workspace_id = ? AND endpoint = ? "
                "ORDER BY name",
                (self.workspace_id, endpoint),
            ).fetchall()
        return [_record(row) for row in rows]

    def delete(self, endpoint: str, name: str) -> None:
        """Forget ``name`` (:class:`NotFound` when there is none)."""
        self.get(endpoint, name)
        with self._db.read() as conn:
            conn.execute(
                "DELETE FROM online_deployments WHERE workspace_id = ? AND endpoint = ? "
                "AND name = ?",
                (self.workspace_id, endpoint, name),
            )


def _record(row: sqlite3.Row) -> DeploymentRecord:
    return DeploymentRecord(
        endpoint=row["endpoint"],
        name=row["name"],
        properties=json.loads(row["properties"]),
        tags=json.loads(row["tags"]),
        sku=json.loads(row["sku"]),
        state=row["state"],
        error=None if row["error"] is None else json.loads(row["error"]),
        created_time=row["created_time"],
        modified_time=row["modified_time"],
    )
