"""Versioned SDK v2 assets of a workspace that SDK v1 has no registry for: environments, code,
data and components (:mod:`emulator.assets.components`). Each version is the specification the
client sent (image, conda file, code URI, tags...), stored as JSON in
``<root>/assets/versions.sqlite3``.

Versions are immutable, as in Azure: putting an existing version again with the same
specification returns it unchanged (the SDK does so for anonymous assets, whose version is a
hash of their content); with a different one it is a conflict naming the fix. Versions are
strings (anonymous assets use hashes); the next version of a name is one more than the highest
numeric one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal

from emulator.exceptions import BadArgument, Conflict
from emulator.store.database import Database, timestamp
from emulator.store.root import EmulatorRoot

Kind = Literal["environments", "codes", "data", "components"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS asset_versions (
    workspace_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    spec TEXT NOT NULL,
    created_time TEXT NOT NULL,
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    UNIQUE (workspace_id, kind, name, version)
);
"""


@dataclass(frozen=True)
class AssetVersion:
    """One stored version: its name, version, the client's specification and creation time."""

    kind: str
    name: str
    version: str
    spec: dict[str, Any]
    created_time: str


class AssetVersions:
    """The ``kind`` assets (environments, codes or data) of the workspace ``workspace_id``."""

    def __init__(self, root: EmulatorRoot, workspace_id: int, kind: Kind) -> None:
        self.workspace_id = workspace_id
        self.kind = kind
        directory = root.path / "assets"
        directory.mkdir(exist_ok=True)
        self._db = Database(directory / "versions.sqlite3", schema=_SCHEMA, version=1)

    def put(
        self, name: str, version: str, spec: dict[str, Any], mutable: Collection[str] = ()
    ) -> AssetVersion:
        """Store ``version`` of ``name``; an existing version must have the same ``spec``, but
        for the ``mutable`` keys, which are updated (Azure lets a data version's description,
        tags and archived flag change)."""
        _check(name, version)
        singular = self.kind.removesuffix("s")
        with self._db.read() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._row(conn, name, version)
                if row is None:
                    conn.execute(
                        "INSERT INTO asset_versions (workspace_id, kind, name, version, spec,"
                        " created_time) VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            self.workspace_id,
                            self.kind,
                            name,
                            version,
                            json.dumps(spec),
                            timestamp(),
                        ),
                    )
                elif _without(json.loads(row["spec"]), mutable) == _without(spec, mutable):
                    conn.execute(
                        "UPDATE asset_versions SET spec=? WHERE seq=?",
                        (json.dumps(spec), row["seq"]),
                    )
                else:
                    raise Conflict(
                        f"The {singular} {name}:{version} already exists with a different "
                        "definition, and asset versions are immutable. Give the changed "
                        f"{singular} a new version (or leave the version out to get the next one)."
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        stored = self.get(name, version)
        assert stored is not None
        return stored

    def get(self, name: str, version: str) -> AssetVersion | None:
        """The version, or None."""
        with self._db.read() as conn:
            row = self._row(conn, name, version)
        return _version(row) if row else None

    def versions(self, name: str | None = None) -> list[AssetVersion]:
        """Every version of ``name`` (of every name when None), newest first."""
        query = "SELECT * FROM asset_versions WHERE workspace_id=? AND kind=?"
        args: tuple[object, ...] = (self.workspace_id, self.kind)
        if name is not None:
            query += " AND name=?"
            args += (name,)
        with self._db.read() as conn:
            rows = conn.execute(query + " ORDER BY seq DESC", args).fetchall()
        return [_version(r) for r in rows]

    def next_version(self, name: str) -> str:
        """One more than the highest numeric version of ``name`` ("1" for a new name)."""
        numbers = [int(v.version) for v in self.versions(name) if v.version.isdigit()]
        return str(max(numbers, default=0) + 1)

    def _row(self, conn: sqlite3.Connection, name: str, version: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM asset_versions WHERE workspace_id=? AND kind=? AND name=? AND version=?",
            (self.workspace_id, self.kind, name, version),
        ).fetchone()
        return row


def _version(row: sqlite3.Row) -> AssetVersion:
    return AssetVersion(
        row["kind"], row["name"], row["version"], json.loads(row["spec"]), row["created_time"]
    )


def _without(spec: dict[str, Any], keys: Collection[str]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k not in keys}


def _check(name: str, version: str) -> None:
    for label, value in (("name", name), ("version", version)):
        if not value or len(value) > 255 or "/" in value:
            raise BadArgument(
                f"The asset {label} {value!r} is invalid: use 1 to 255 characters without '/'."
            )
