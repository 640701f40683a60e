"""The child jobs of a pipeline component deployment's batch job: one per pipeline step, in
``<root>/endpoints/batch.sqlite3`` beside the jobs (:mod:`emulator.endpoints.batch_jobs`).

A child job has its own name (a GUID, as Azure names a pipeline's step runs), its parent, its
step's name and position, the component it runs, its status (``NotStarted`` until it starts,
then Azure's ``Running``, ``Completed``, ``Failed``, ``Canceled``), Azure's error text when it
failed and its folder (``user_logs/std_log.txt``, its outputs). Every step is recorded when
the job is created, so ``jobs.list(parent_job_name=...)`` shows the steps a failure skipped as
``NotStarted``. Stored so that ``jobs.get`` in any process sees them.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from emulator.endpoints.batch import FORMAT
from emulator.store.database import Database, timestamp
from emulator.store.root import EmulatorRoot

NOT_STARTED = "NotStarted"
TERMINAL = ("Completed", "Failed", "Canceled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pipeline_steps (
    workspace_id INTEGER NOT NULL,
    run TEXT NOT NULL COLLATE NOCASE,
    job TEXT NOT NULL COLLATE NOCASE,
    position INTEGER NOT NULL,
    step TEXT NOT NULL,
    component TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    directory TEXT NOT NULL,
    created_time TEXT NOT NULL,
    modified_time TEXT NOT NULL,
    PRIMARY KEY (workspace_id, run)
);
"""


@dataclass(frozen=True)
class StepSpec:
    """What a child job is created from: its step, the component's id, its folder."""

    step: str
    component: str
    directory: str


@dataclass(frozen=True)
class StepRecord:
    """One stored child job."""

    run: str
    job: str
    position: int
    step: str
    component: str
    status: str
    error: str | None
    directory: str
    created_time: str
    modified_time: str


class PipelineSteps:
    """The pipeline steps of the batch jobs of workspace ``workspace_id`` of ``root``."""

    def __init__(self, root: EmulatorRoot, workspace_id: int) -> None:
        self.workspace_id = workspace_id
        self._db = Database(
            root.path / "endpoints" / "batch.sqlite3", schema=_SCHEMA, version=FORMAT
        )

    def create(self, job: str, steps: Sequence[StepSpec]) -> list[StepRecord]:
        """A ``NotStarted`` child job for each step of ``job``, in order."""
        now = timestamp()
        with self._db.transaction() as conn:
            for position, spec in enumerate(steps):
                conn.execute(
                    "INSERT INTO pipeline_steps VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
                    (
                        self.workspace_id,
                        str(uuid.uuid4()),
                        job,
                        position,
                        spec.step,
                        spec.component,
                        NOT_STARTED,
                        spec.directory,
                        now,
                        now,
                    ),
                )
        return self.of_job(job)

    def set_status(self, run: str, status: str, error: str | None = None) -> None:
        """Record a child's status; one that ended keeps its final status."""
        with self._db.read() as conn:
            conn.execute(
                "UPDATE pipeline_steps SET status = ?, error = ?, modified_time = ? "
                "WHERE workspace_id = ? AND run = ? AND status NOT IN (?, ?, ?)",
                (status, error, timestamp(), self.workspace_id, run, *TERMINAL),
            )

    def of_job(self, job: str) -> list[StepRecord]:
        """The children of ``job`` in the order they run (none for a job without steps)."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM pipeline_steps WHERE workspace_id = ? AND job = ? ORDER BY position",
                (self.workspace_id, job),
            ).fetchall()
        return [_record(row) for row in rows]

    def find(self, run: str) -> StepRecord | None:
        """The child job named ``run``, or None."""
        with self._db.read() as conn:
            row: sqlite3.Row | None = conn.execute(
                "SELECT * FROM pipeline_steps WHERE workspace_id = ? AND run = ?",
                (self.workspace_id, run),
            ).fetchone()
        return None if row is None else _record(row)


def _record(row: sqlite3.Row) -> StepRecord:
    return StepRecord(
        run=row["run"],
        job=row["job"],
        position=row["position"],
        step=row["step"],
        component=row["component"],
        status=row["status"],
        error=row["error"],
        directory=row["directory"],
        created_time=row["created_time"],
        modified_time=row["modified_time"],
    )
