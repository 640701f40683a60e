"""Workspace records: the (subscription, resource group, name) triples a root knows about."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from sqlite3 import Connection, Row

from emulator.store.database import timestamp
from emulator.store.root import EmulatorRoot

DEFAULT_LOCATION = "eastus"


@dataclass(frozen=True)
class WorkspaceRecord:
    """One emulated workspace as stored in the metadata database."""

    id: int
    subscription_id: str
    resource_group: str
    name: str
    location: str
    sku: str
    tags: dict[str, str]
    created_time: str

    @classmethod
    def from_row(cls, row: Row) -> WorkspaceRecord:
        return cls(
            id=row["id"],
            subscription_id=row["subscription_id"],
            resource_group=row["resource_group"],
            name=row["name"],
            location=row["location"],
            sku=row["sku"],
            tags=json.loads(row["tags"]),
            created_time=row["created_time"],
        )


class WorkspaceStore:
    """Finds and creates workspace records under one emulator root."""

    def __init__(self, root: EmulatorRoot) -> None:
        self.root = root

    def find(self, subscription_id: str, resource_group: str, name: str) -> WorkspaceRecord | None:
        """The workspace with these names in any case (Azure's resource names are
        case-insensitive); the record keeps the case it was created with."""
        with self.root.db.read() as conn:
            return _same_names(conn, subscription_id, resource_group, name)

    def by_id(self, workspace_id: int) -> WorkspaceRecord | None:
        with self.root.db.read() as conn:
            row = conn.execute("SELECT * FROM workspaces WHERE id=?", (workspace_id,)).fetchone()
        return WorkspaceRecord.from_row(row) if row else None

    def all(self) -> list[WorkspaceRecord]:
        with self.root.db.read() as conn:
            rows = conn.execute("SELECT * FROM workspaces ORDER BY name, id").fetchall()
        return [WorkspaceRecord.from_row(r) for r in rows]

    def matching(
        self, name: str, subscription_id: str | None = None, resource_group: str | None = None
    ) -> list[WorkspaceRecord]:
        """Workspaces called ``name``, narrowed by subscription/resource group when given."""
        return [
            r
            for r in self.all()
            if _fold(r.name) == _fold(name)
            and (subscription_id is None or _fold(r.subscription_id) == _fold(subscription_id))
            and (resource_group is None or _fold(r.resource_group) == _fold(resource_group))
        ]

    def create(
        self,
        subscription_id: str,
        resource_group: str,
        name: str,
        location: str | None = None,
        sku: str = "basic",
        tags: dict[str, str] | None = None,
    ) -> tuple[WorkspaceRecord, bool]:
        """Insert a workspace unless it exists; returns ``(record, created)``."""
        created_time = timestamp()
        with self.root.db.transaction() as conn:
            existing = _same_names(conn, subscription_id, resource_group, name)
            if existing is not None:
                return existing, False
            cur = conn.execute(
                "INSERT INTO workspaces (subscription_id, resource_group, name, location, sku,"
                " tags, created_time) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    subscription_id,
                    resource_group,
                    name,
                    location or DEFAULT_LOCATION,
                    sku,
                    json.dumps(tags or {}),
                    created_time,
                ),
            )
            row = conn.execute("SELECT * FROM workspaces WHERE id=?", (cur.lastrowid,)).fetchone()
        return WorkspaceRecord.from_row(row), True

    def directory(self, record: WorkspaceRecord) -> Path:
        """Per-workspace scratch space (builds, logs, downloads) outside the database."""
        path = self.root.path / "workspaces" / str(record.id)
        path.mkdir(parents=True, exist_ok=True)
        return path


def _fold(name: str) -> str:
    """A resource name as Azure compares it: case-insensitively (Unicode case folding)."""
    return name.casefold()


def _same_names(
    conn: Connection, subscription_id: str, resource_group: str, name: str
) -> WorkspaceRecord | None:
    """The oldest workspace whose three names equal these in any case.

    Compared in Python: SQLite's NOCASE folds ASCII only, and resource group names may hold any
    Unicode letter. A root written before lookups ignored case may hold both ``ws`` and ``WS``:
    the first one created is the one found, whichever way it is spelled.
    """
    wanted = (_fold(subscription_id), _fold(resource_group), _fold(name))
    for row in conn.execute("SELECT * FROM workspaces ORDER BY id"):
        record = WorkspaceRecord.from_row(row)
        if (_fold(record.subscription_id), _fold(record.resource_group), _fold(record.name)) == (
            wanted
        ):
            return record
    return None
