"""The batch endpoints of a workspace and their deployments, in ``<root>/endpoints/batch.sqlite3``.

A batch endpoint is a name (Azure's endpoint-name rule, case-insensitive), Microsoft Entra
authentication only (``aad_token``: Azure has no keys for batch endpoints), a description, tags
and ``defaults.deployment_name`` — the deployment a job runs on when the caller names none.
A batch deployment is the request's properties with the settings Azure fills in when they are
left out (``miniBatchSize`` 10, ``AppendRow`` into ``predictions.csv``, three retries of 30 s,
``errorThreshold`` -1, one instance, one process per instance, ``Info`` logging), tags, a
provisioning state (``Creating``/``Updating`` while its image builds, then ``Succeeded`` or
``Failed`` with Azure's error) and the image built for it. A file of its own (not
endpoints.sqlite3, whose format the online stores share) so that its format is this module's.
SQLite so that the daemon, ``amlemu`` and tests in other processes agree.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from emulator.exceptions import BadArgument, NotFound
from emulator.store.database import Database, timestamp
from emulator.store.root import EmulatorRoot

#: The format of batch.sqlite3 (endpoints and deployments; bump both together).
FORMAT = 1
#: The one auth mode of batch endpoints.
AUTH_MODE = "aad_token"
#: States of a deployment whose create or update is still running.
IN_PROGRESS = ("Creating", "Updating")
_SETTLE_POLL_SECONDS = 0.05
#: ``azure-ai-ml``'s rule for endpoint and deployment names (entities/_endpoint/
#: _endpoint_helpers.py), enforced here for clients that send REST directly.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]")
#: What Azure stores for the settings a batch deployment leaves out (measured by reading back a
#: deployment created with none: the documented defaults of ModelBatchDeploymentSettings).
DEFAULT_SETTINGS: dict[str, Any] = {
    "miniBatchSize": 10,
    "maxConcurrencyPerInstance": 1,
    "outputAction": "AppendRow",
    "outputFileName": "predictions.csv",
    "errorThreshold": -1,
    "loggingLevel": "Info",
    "retrySettings": {"maxRetries": 3, "timeout": "PT30S"},
    "resources": {"instanceCount": 1, "properties": {}},
    "environmentVariables": {},
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch_endpoints (
    workspace_id INTEGER NOT NULL,
    name TEXT NOT NULL COLLATE NOCASE,
    description TEXT,
    tags TEXT NOT NULL,
    default_deployment TEXT,
    created_time TEXT NOT NULL,
    modified_time TEXT NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
CREATE TABLE IF NOT EXISTS batch_deployments (
    workspace_id INTEGER NOT NULL,
    endpoint TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE,
    properties TEXT NOT NULL,
    tags TEXT NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    image TEXT,
    created_time TEXT NOT NULL,
    modified_time TEXT NOT NULL,
    PRIMARY KEY (workspace_id, endpoint, name)
);
"""


@dataclass(frozen=True)
class BatchEndpointRecord:
    """One stored batch endpoint."""

    name: str
    description: str | None
    tags: dict[str, str]
    default_deployment: str | None
    created_time: str
    modified_time: str


@dataclass(frozen=True)
class BatchEndpointSpec:
    """What a client may set on a batch endpoint (the create-or-update request)."""

    auth_mode: str = AUTH_MODE
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    default_deployment: str | None = None


@dataclass(frozen=True)
class BatchDeploymentRecord:
    """One stored batch deployment: ``properties`` are ARM's (camelCase), defaults filled in;
    ``image`` is ``name:version`` of the image its jobs run in, once built."""

    endpoint: str
    name: str
    properties: dict[str, Any]
    tags: dict[str, str]
    state: str
    error: dict[str, Any] | None
    image: str | None
    created_time: str
    modified_time: str


def check_name(name: str, what: str) -> None:
    """Azure's rule for endpoint and deployment names (``what``: "endpoint" or "deployment")."""
    if not _NAME.fullmatch(name):
        raise BadArgument(
            f"Invalid {what} name '{name}'. The name for an {what} must be at least 3 and at "
            "most 32 characters long, start with a letter, contain only alphanumeric characters "
            "and '-', and end with an alphanumeric character.",
            code="UserError",
        )


def _database(root: EmulatorRoot) -> Database:
    return Database(root.path / "endpoints" / "batch.sqlite3", schema=_SCHEMA, version=FORMAT)


class BatchEndpoints:
    """The batch endpoints of the workspace ``workspace_id`` of ``root``."""

    def __init__(self, root: EmulatorRoot, workspace_id: int) -> None:
        self.workspace_id = workspace_id
        self._db = _database(root)

    def create_or_update(
        self, name: str, spec: BatchEndpointSpec
    ) -> tuple[BatchEndpointRecord, bool]:
        """Store ``spec`` under ``name``; returns the endpoint and whether it was created."""
        check_name(name, "endpoint")
        if spec.auth_mode != AUTH_MODE:
            raise BadArgument(
                f"Invalid auth mode '{spec.auth_mode}' for batch endpoint '{name}': batch "
                "endpoints support only Microsoft Entra tokens (aad_token). [emulator] Leave "
                "auth_mode out or set it to 'aad_token'; keys are for online endpoints.",
                code="UserError",
            )
        now = timestamp()
        with self._db.transaction() as conn:
            existing = self._row(conn, name)
            values = (spec.description, json.dumps(spec.tags), spec.default_deployment)
            if existing is None:
                conn.execute(
                    "INSERT INTO batch_endpoints VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (self.workspace_id, name, *values, now, now),
                )
            else:
                conn.execute(
                    "UPDATE batch_endpoints SET description = ?, tags = ?, "
                    "default_deployment = ?, modified_time = ? WHERE workspace_id = ? AND name = ?",
                    (*values, now, self.workspace_id, name),
                )
            row = self._row(conn, name)
        assert row is not None  # written in the same transaction
        return _endpoint(row), existing is None

    def get(self, name: str) -> BatchEndpointRecord:
        """The endpoint ``name``; :class:`NotFound` naming the endpoints there are otherwise."""
        with self._db.read() as conn:
            row = self._row(conn, name)
        if row is None:
            names = ", ".join(f"'{r.name}'" for r in self.list()) or "none"
            raise NotFound(
                f"Batch endpoint '{name}' does not exist. [emulator] Batch endpoints of this "
                f"workspace: {names}; create it with ml_client.batch_endpoints."
                "begin_create_or_update.",
                code="ResourceNotFound",
            )
        return _endpoint(row)

    def list(self) -> list[BatchEndpointRecord]:
        """Every batch endpoint of the workspace, by name."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM batch_endpoints WHERE workspace_id = ? ORDER BY name",
                (self.workspace_id,),
            ).fetchall()
        return [_endpoint(row) for row in rows]

    def delete(self, name: str) -> None:
        """Remove the endpoint ``name`` and its deployments (:class:`NotFound` when none)."""
        record = self.get(name)
        with self._db.transaction() as conn:
            conn.execute(
                "DELETE FROM batch_deployments WHERE workspace_id = ? AND endpoint = ?",
                (self.workspace_id, record.name),
            )
            conn.execute(
                "DELETE FROM batch_endpoints WHERE workspace_id = ? AND name = ?",
                (self.workspace_id, record.name),
            )

    def _row(self, conn: sqlite3.Connection, name: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM batch_endpoints WHERE workspace_id = ? AND name = ?",
            (self.workspace_id, name),
        ).fetchone()
        return row


class BatchDeployments:
    """The batch deployments of the workspace ``workspace_id`` of ``root``."""

    def __init__(self, root: EmulatorRoot, workspace_id: int) -> None:
        self.workspace_id = workspace_id
        self._db = _database(root)

    def put(
        self, endpoint: str, name: str, properties: dict[str, Any], tags: dict[str, str]
    ) -> BatchDeploymentRecord:
        """Create ``name`` in state ``Creating``, or replace it in state ``Updating`` (the
        creation time is kept). ``properties`` get Azure's defaults for what they leave out. The
        first deployment of an endpoint without a default becomes its default, as in Azure."""
        check_name(name, "deployment")
        filled = with_defaults(properties)
        now = timestamp()
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE batch_endpoints SET default_deployment = ? WHERE workspace_id = ? "
                "AND name = ? AND default_deployment IS NULL",
                (name, self.workspace_id, endpoint),
            )
            conn.execute(
                "INSERT INTO batch_deployments VALUES "
                "(?, ?, ?, ?, ?, 'Creating', NULL, NULL, ?, ?) "
                "ON CONFLICT (workspace_id, endpoint, name) DO UPDATE SET "
                "properties = excluded.properties, tags = excluded.tags, state = 'Updating', "
                "error = NULL, modified_time = excluded.modified_time",
                (self.workspace_id, endpoint, name, json.dumps(filled), json.dumps(tags), now, now),
            )
        return self.get(endpoint, name)

    def set_state(
        self,
        record: BatchDeploymentRecord,
        state: str,
        error: dict[str, Any] | None = None,
        image: str | None = None,
    ) -> BatchDeploymentRecord | None:
        """Record the outcome of the operation that stored ``record``; ``None`` (and nothing
        written) when the deployment was deleted or replaced by a newer operation meanwhile."""
        with self._db.read() as conn:
            changed = conn.execute(
                "UPDATE batch_deployments SET state = ?, error = ?, image = COALESCE(?, image) "
                "WHERE workspace_id = ? AND endpoint = ? AND name = ? AND modified_time = ?",
                (
                    state,
                    None if error is None else json.dumps(error),
                    image,
                    self.workspace_id,
                    record.endpoint,
                    record.name,
                    record.modified_time,
                ),
            ).rowcount
        return self.get(record.endpoint, record.name) if changed else None

    def get(self, endpoint: str, name: str) -> BatchDeploymentRecord:
        """The deployment; :class:`NotFound` naming the endpoint's deployments otherwise."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT * FROM batch_deployments WHERE workspace_id = ? AND endpoint = ? "
                "AND name = ?",
                (self.workspace_id, endpoint, name),
            ).fetchone()
        if row is None:
            names = ", ".join(f"'{d.name}'" for d in self.list(endpoint)) or "none"
            raise NotFound(
                f"Deployment '{name}' of batch endpoint '{endpoint}' does not exist. [emulator] "
                f"Deployments of this endpoint: {names}; create it with "
                "ml_client.batch_deployments.begin_create_or_update.",
                code="ResourceNotFound",
            )
        return _deployment(row)

    def settled(self, endpoint: str, name: str, timeout: float) -> BatchDeploymentRecord:
        """The deployment once it is no longer ``Creating``/``Updating``, or as it is after
        ``timeout`` seconds (an operation-status poll held until the build ends)."""
        deadline = time.monotonic() + timeout
        while True:
            record = self.get(endpoint, name)
            if record.state not in IN_PROGRESS or time.monotonic() >= deadline:
                return record
            time.sleep(_SETTLE_POLL_SECONDS)

    def list(self, endpoint: str) -> list[BatchDeploymentRecord]:
        """The endpoint's deployments, by name."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM batch_deployments WHERE workspace_id = ? AND endpoint = ? "
                "ORDER BY name",
                (self.workspace_id, endpoint),
            ).fetchall()
        return [_deployment(row) for row in rows]

    def delete(self, endpoint: str, name: str) -> None:
        """Forget ``name`` (:class:`NotFound` when there is none)."""
        record = self.get(endpoint, name)
        with self._db.read() as conn:
            conn.execute(
                "DELETE FROM batch_deployments WHERE workspace_id = ? AND endpoint = ? "
                "AND name = ?",
                (self.workspace_id, record.endpoint, record.name),
            )


def with_defaults(properties: dict[str, Any]) -> dict[str, Any]:
    """``properties`` with Azure's values for the settings left out (what a deployment reads
    back with). Their types and ranges are checked by the face before storing, with
    :meth:`emulator.batch.settings.BatchSettings.from_properties`, the rules jobs run by."""
    filled = {k: v for k, v in properties.items() if v is not None and k != "provisioningState"}
    for key, default in DEFAULT_SETTINGS.items():
        if isinstance(default, dict) and isinstance(filled.get(key), dict):
            filled[key] = {**default, **{k: v for k, v in filled[key].items() if v is not None}}
        else:
            filled.setdefault(key, default)
    return filled


def _endpoint(row: sqlite3.Row) -> BatchEndpointRecord:
    return BatchEndpointRecord(
        name=row["name"],
        description=row["description"],
        tags=json.loads(row["tags"]),
        default_deployment=row["default_deployment"],
        created_time=row["created_time"],
        modified_time=row["modified_time"],
    )


def _deployment(row: sqlite3.Row) -> BatchDeploymentRecord:
    return BatchDeploymentRecord(
        endpoint=row["endpoint"],
        name=row["name"],
        properties=json.loads(row["properties"]),
        tags=json.loads(row["tags"]),
        state=row["state"],
        error=None if row["error"] is None else json.loads(row["error"]),
        image=row["image"],
        created_time=row["created_time"],
        modified_time=row["modified_time"],
    )
