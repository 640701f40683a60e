"""Which SDK v2 models and environments are archived (``ml_client.models.archive``,
``ml_client.environments.archive`` and their ``restore``), kept apart from the assets
themselves: a model's record lives in SDK v1's registry and an environment's version is the
client's immutable specification, while the archived flag is the one thing Azure lets change.

Azure's rules (``az ml model archive`` / ``az ml environment archive`` help): a version or a
whole name (its container) is archived; archiving a name archives every version under it and
restoring it restores them all; a version created under an archived name is archived too.
Archived assets stay usable by name and version; listings hide them unless asked
(``listViewType``), and ``label="latest"`` skips them. Flags live in
``<root>/assets/archive.sqlite3``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from emulator.store.database import Database
from emulator.store.root import EmulatorRoot

ArchiveKind = Literal["models", "environments"]

#: The ``version`` of a container's row: no asset version is empty.
_CONTAINER = ""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS archived_assets (
    workspace_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (workspace_id, kind, name, version)
);
"""


class ArchivedAssets:
    """The archived names and versions of the ``kind`` assets of workspace ``workspace_id``."""

    def __init__(self, root: EmulatorRoot, workspace_id: int, kind: ArchiveKind) -> None:
        self.workspace_id = workspace_id
        self.kind = kind
        self._db = Database(root.path / "assets" / "archive.sqlite3", schema=_SCHEMA, version=1)

    def versions(self, name: str) -> set[str]:
        """The archived versions of ``name``."""
        return {v for v in self._rows(name) if v != _CONTAINER}

    def is_archived(self, name: str, version: str) -> bool:
        """Whether version ``version`` of ``name`` is archived."""
        return version in self.versions(name)

    def container_archived(self, name: str) -> bool:
        """Whether the name itself (its container) is archived."""
        return _CONTAINER in self._rows(name)

    def archived_containers(self) -> set[str]:
        """Every archived name."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT name FROM archived_assets WHERE workspace_id=? AND kind=? AND version=?",
                (self.workspace_id, self.kind, _CONTAINER),
            ).fetchall()
        return {r["name"] for r in rows}

    def set_version(self, name: str, version: str, archived: bool) -> None:
        """Archive or restore one version."""
        self._set(name, [version], archived)

    def set_container(self, name: str, versions: Iterable[str], archived: bool) -> None:
        """Archive or restore the name and, as Azure does, every one of its ``versions``."""
        self._set(name, [_CONTAINER, *versions], archived)

    def created(self, name: str, version: str) -> None:
        """Record a new version of ``name``: archived when its name is (Azure's rule)."""
        if self.container_archived(name):
            self.set_version(name, version, True)

    def _rows(self, name: str) -> set[str]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT version FROM archived_assets WHERE workspace_id=? AND kind=? AND name=?",
                (self.workspace_id, self.kind, name),
            ).fetchall()
        return {r["version"] for r in rows}

    def _set(self, name: str, versions: list[str], archived: bool) -> None:
        rows = [(self.workspace_id, self.kind, name, v) for v in versions]
        statement = (
            "INSERT OR IGNORE INTO archived_assets (workspace_id, kind, name, version)"
            " VALUES (?, ?, ?, ?)"
            if archived
            else "DELETE FROM archived_assets WHERE workspace_id=? AND kind=? AND name=?"
            " AND version=?"
        )
        with self._db.read() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(statement, rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
