"""The jobs of batch endpoints, in ``<root>/endpoints/batch.sqlite3`` beside the endpoints.

A job is what ``batch_endpoints.invoke`` creates: a name (the client's ``job_name`` or a
generated one, unique in the workspace), the endpoint and deployment it runs on, its inputs as
the client sent them, its status (Azure's: ``Preparing``, ``Running``, ``Completed``,
``Failed``, ``Canceled``), Azure's error text when it failed, where its files are, and what it
asked beyond its inputs (its output's place, the settings it overrides:
:mod:`emulator.endpoints.batch_job_spec`, in a table of their own beside the jobs'). The
status is stored as it changes so that ``jobs.get`` in any process sees it; the mini-batches
themselves run in the process that created the job (:mod:`emulator.state.batch_runs`).
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from typing import Any

from emulator.endpoints.batch import FORMAT
from emulator.endpoints.batch_job_spec import BatchJobSpec
from emulator.exceptions import Conflict, NotFound
from emulator.store.database import Database, timestamp
from emulator.store.root import EmulatorRoot

TERMINAL = ("Completed", "Failed", "Canceled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch_jobs (
    workspace_id INTEGER NOT NULL,
    name TEXT NOT NULL COLLATE NOCASE,
    endpoint TEXT NOT NULL COLLATE NOCASE,
    deployment TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    inputs TEXT NOT NULL,
    directory TEXT NOT NULL,
    created_time TEXT NOT NULL,
    modified_time TEXT NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
CREATE TABLE IF NOT EXISTS batch_job_specs (
    workspace_id INTEGER NOT NULL,
    name TEXT NOT NULL COLLATE NOCASE,
    spec TEXT NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
"""
_SELECT = (
    "SELECT j.*, s.spec FROM batch_jobs j LEFT JOIN batch_job_specs s "
    "ON s.workspace_id = j.workspace_id AND s.name = j.name"
)


@dataclass(frozen=True)
class BatchJobRecord:
    """One stored batch job; ``directory`` holds its ``logs/`` and ``outputs/score``."""

    name: str
    endpoint: str
    deployment: str
    status: str
    error: str | None
    inputs: dict[str, Any]
    directory: str
    created_time: str
    modified_time: str
    spec: BatchJobSpec = field(default_factory=BatchJobSpec)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


class BatchJobs:
    """The batch jobs of the workspace ``workspace_id`` of ``root``."""

    def __init__(self, root: EmulatorRoot, workspace_id: int) -> None:
        self.workspace_id = workspace_id
        # Same file and format as the endpoints (:mod:`emulator.endpoints.batch`).
        self._db = Database(
            root.path / "endpoints" / "batch.sqlite3", schema=_SCHEMA, version=FORMAT
        )

    def create(
        self,
        name: str | None,
        endpoint: str,
        deployment: str,
        inputs: dict[str, Any],
        directory: str,
        *,
        spec: BatchJobSpec | None = None,
    ) -> BatchJobRecord:
        """A new job in state ``Preparing`` (``{name}`` in ``directory`` becomes its name); a
        name already taken is Azure's 409."""
        job = name or f"batchjob-{uuid.uuid4()}"
        now = timestamp()
        with self._db.transaction() as conn:
            if self._row(conn, job) is not None:
                raise Conflict(
                    f"A job named '{job}' already exists in this workspace. [emulator] Pass "
                    "another job_name to batch_endpoints.invoke, or leave it out.",
                    code="UserError",
                    status=409,
                )
            conn.execute(
                "INSERT INTO batch_jobs VALUES (?, ?, ?, ?, 'Preparing', NULL, ?, ?, ?, ?)",
                (
                    self.workspace_id,
                    job,
                    endpoint,
                    deployment,
                    json.dumps(inputs),
                    directory.replace("{name}", job),
                    now,
                    now,
                ),
            )
            if spec is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO batch_job_specs VALUES (?, ?, ?)",
                    (self.workspace_id, job, json.dumps(spec.to_json())),
                )
        return self.get(job)

    def set_status(self, name: str, status: str, error: str | None = None) -> None:
        """Record the job's status; a job that ended keeps its final status."""
        with self._db.read() as conn:
            conn.execute(
                "UPDATE batch_jobs SET status = ?, error = ?, modified_time = ? "
                "WHERE workspace_id = ? AND name = ? AND status NOT IN (?, ?, ?)",
                (status, error, timestamp(), self.workspace_id, name, *TERMINAL),
            )

    def get(self, name: str) -> BatchJobRecord:
        """The job ``name``; :class:`NotFound` otherwise."""
        with self._db.read() as conn:
            row = self._row(conn, name)
        if row is None:
            raise NotFound(
                f"Job '{name}' does not exist in this workspace. [emulator] Batch jobs are "
                "created by ml_client.batch_endpoints.invoke; list them with "
                "batch_endpoints.list_jobs(endpoint_name).",
                code="UserError",
            )
        return _record(row)

    def list(self, endpoint: str, deployment: str | None = None) -> list[BatchJobRecord]:
        """The endpoint's jobs (one deployment's when named), newest first."""
        query = _SELECT + " WHERE j.workspace_id = ? AND j.endpoint = ?"
        args: tuple[Any, ...] = (self.workspace_id, endpoint)
        if deployment is not None:
            query += " AND j.deployment = ? COLLATE NOCASE"
            args += (deployment,)
        with self._db.read() as conn:
            rows = conn.execute(query + " ORDER BY j.created_time DESC", args).fetchall()
        return [_record(row) for row in rows]

    def page(self, skip: int, count: int) -> tuple[builtins.list[BatchJobRecord], bool]:
        """The workspace's jobs, every endpoint's, newest first (the later insert first when
        two share a timestamp): ``count`` of them after the first ``skip``, and whether more
        follow."""
        query = _SELECT + (
            " WHERE j.workspace_id = ? ORDER BY j.created_time DESC, j.rowid DESC LIMIT ? OFFSET ?"
        )
        with self._db.read() as conn:
            rows = conn.execute(query, (self.workspace_id, count + 1, skip)).fetchall()
        return [_record(row) for row in rows[:count]], len(rows) > count

    def _row(self, conn: sqlite3.Connection, name: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute(
            _SELECT + " WHERE j.workspace_id = ? AND j.name = ?", (self.workspace_id, name)
        ).fetchone()
        return row


def _record(row: sqlite3.Row) -> BatchJobRecord:
    return BatchJobRecord(
        name=row["name"],
        endpoint=row["endpoint"],
        deployment=row["deployment"],
        status=row["status"],
        error=row["error"],
        inputs=json.loads(row["inputs"]),
        directory=row["directory"],
        created_time=row["created_time"],
        modified_time=row["modified_time"],
        spec=BatchJobSpec.from_json(json.loads(row["spec"])) if row["spec"] else BatchJobSpec(),
    )
