"""The SQLite database that holds all metadata of one emulator root.

One file per root, opened per operation: short-lived connections are safe across threads and
processes. Writes run inside ``BEGIN IMMEDIATE`` so concurrent registrations serialise on the
database lock instead of racing for the same version number.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from emulator._version import __version__
from emulator.exceptions import InvalidSetting

logger = logging.getLogger("emulator.store")

SCHEMA_VERSION = 4

_SCHEMA = """
CREATE TABLE IF NOT EXISTS workspaces (
    id INTEGER PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    resource_group TEXT NOT NULL,
    name TEXT NOT NULL,
    location TEXT NOT NULL,
    sku TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_time TEXT NOT NULL,
    UNIQUE (subscription_id, resource_group, name)
);
CREATE TABLE IF NOT EXISTS model_versions (
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    last_version INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('file', 'folder')),
    root_name TEXT NOT NULL,
    description TEXT,
    tags TEXT NOT NULL,
    properties TEXT NOT NULL,
    framework TEXT,
    framework_version TEXT,
    library_versions TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    created_time TEXT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (workspace_id, name, version)
);
CREATE TABLE IF NOT EXISTS model_files (
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    digest TEXT NOT NULL,
    size INTEGER NOT NULL,
    executable INTEGER NOT NULL,
    PRIMARY KEY (model_id, path)
);
CREATE TABLE IF NOT EXISTS image_versions (
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    last_version INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    builder TEXT NOT NULL,
    flavor TEXT NOT NULL,
    description TEXT,
    tags TEXT NOT NULL,
    properties TEXT NOT NULL,
    model_ids TEXT NOT NULL,
    entry_script TEXT,
    environment_key TEXT,
    location TEXT,
    directory TEXT NOT NULL,
    error TEXT,
    owner_pid INTEGER,
    created_time TEXT NOT NULL,
    updated_time TEXT NOT NULL,
    UNIQUE (workspace_id, name, version)
);
CREATE TABLE IF NOT EXISTS compute_targets (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER REFERENCES workspaces(id) ON DELETE SET NULL,
    name TEXT,
    compute_type TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    resource_group TEXT NOT NULL,
    cluster_name TEXT NOT NULL,
    location TEXT NOT NULL,
    vm_size TEXT NOT NULL,
    agent_count INTEGER NOT NULL,
    cluster_purpose TEXT NOT NULL,
    load_balancer_type TEXT NOT NULL,
    load_balancer_subnet TEXT,
    ssl TEXT NOT NULL,
    description TEXT,
    tags TEXT NOT NULL,
    is_attached INTEGER NOT NULL,
    state TEXT NOT NULL,
    pending_state TEXT,
    ready_at REAL NOT NULL,
    errors TEXT NOT NULL,
    created_time TEXT NOT NULL,
    updated_time TEXT NOT NULL,
    UNIQUE (workspace_id, name),
    UNIQUE (subscription_id, resource_group, cluster_name)
);
CREATE TABLE IF NOT EXISTS compute_reservations (
    compute_id INTEGER NOT NULL REFERENCES compute_targets(id) ON DELETE CASCADE,
    owner TEXT NOT NULL,
    replica INTEGER NOT NULL,
    node TEXT NOT NULL,
    cpu_cores REAL NOT NULL,
    memory_gb REAL NOT NULL,
    gpus REAL NOT NULL,
    fpgas INTEGER NOT NULL,
    PRIMARY KEY (compute_id, owner, replica)
);
CREATE TABLE IF NOT EXISTS services (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    compute_type TEXT NOT NULL,
    state TEXT NOT NULL,
    image_id TEXT,
    model_ids TEXT NOT NULL,
    compute_name TEXT,
    settings TEXT NOT NULL,
    description TEXT,
    tags TEXT NOT NULL,
    properties TEXT NOT NULL,
    primary_key TEXT,
    secondary_key TEXT,
    token_secret TEXT,
    scoring_uri TEXT,
    port INTEGER,
    error TEXT,
    owner_pid INTEGER,
    created_time TEXT NOT NULL,
    updated_time TEXT NOT NULL,
    UNIQUE (workspace_id, name)
);
"""


def _newer_format(path: Path, found: int, version: int) -> str:
    return (
        f"{path} was written by a newer azureml-emulator (format {found}; azureml-emulator "
        f"{__version__} reads formats up to {version}): this emulator root was last used by a "
        "newer release. [emulator] Upgrade azureml-emulator (pip install -U azureml-emulator), "
        "or use another root (--root DIR or AZUREML_EMULATOR_ROOT)."
    )


def timestamp() -> str:
    """Now, as every record stores it: ISO 8601 in UTC."""
    return datetime.now(timezone.utc).isoformat()


class Database:
    """Connection factory and schema owner of one SQLite file: ``<root>/registry.sqlite3`` by
    default; state packages with files of their own (SDK v2 assets, endpoints) pass their schema.

    The file's format is its ``user_version``. A file of an older format is migrated on open:
    every format change so far only added tables, which the idempotent schema script creates (a
    change to an existing table must add its migration step here). A file of a newer format —
    a root last used by a newer emulator — is refused with :class:`~emulator.exceptions.
    InvalidSetting` before anything is written, as this emulator would misread it. Stores that
    share a file (endpoints and deployments) share its version.
    """

    def __init__(self, path: Path, schema: str = _SCHEMA, version: int = SCHEMA_VERSION) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            found = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if found > version:
                raise InvalidSetting(_newer_format(path, found, version))
            conn.executescript(schema)  # idempotent DDL, each statement autocommits
            if found != version:
                conn.execute(f"PRAGMA user_version = {version}")
                if found:
                    logger.info("Migrated %s from format %d to %d.", path, found, version)
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 60000")
        return conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode: for queries (each sees committed data only) and for
        a lone statement, which commits on its own."""
        conn = self._connect()
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An exclusive write transaction: committed on success, rolled back on any error."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()
