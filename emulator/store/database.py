"""The SQLite database that holds all metadata of one emulator root.

One file per root. Writes open a connection per transaction and run inside ``BEGIN IMMEDIATE``,
so concurrent registrations serialise on the database lock instead of racing for the same
version number. Reads reuse one connection per thread (and process) for as long as the
:class:`Database` lives: opening one costs 0.15-0.2 ms (the file, two pragmas, the schema),
more than the query, and a reusing pytest test or an ARM request reads several times. Each read
still sees everything committed before it (autocommit: every statement is its own transaction),
and the cursors a read made are closed when it ends, as closing the connection did, so no
statement keeps the shared lock that a writer waits for.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from emulator._version import __version__
from emulator.exceptions import InvalidSetting

logger = logging.getLogger("emulator.store")
_Connection = TypeVar("_Connection", bound=sqlite3.Connection)

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
        #: This thread's kept read connection (``kept``), closed with the thread or the object.
        self._readers = threading.local()
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

    def __getstate__(self) -> dict[str, Any]:
        """A copy or pickle is the file's path: its connections stay here (a copy, or another
        process, opens its own), as the SDK's ``Workspace``, which holds the root, pickles and
        deep-copies (azureml-core 1.61: both work)."""
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self._readers = threading.local()

    def _connect(self) -> sqlite3.Connection:
        return _configured(sqlite3.connect(self.path, timeout=60.0, isolation_level=None))

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode: for queries (each sees committed data only) and for
        a lone statement, which commits on its own. This thread's kept connection (see the
        module docstring); a read inside a read shares it, and the outer one ends it."""
        conn = self._reader()
        conn.depth += 1
        failed = False
        try:
            yield conn
        except BaseException:
            failed = True
            raise
        finally:
            conn.depth -= 1
            if conn.depth == 0:
                conn.end_read(keep=not failed)
                if failed:  # a broken file or connection: the next read opens a new one
                    self._readers.kept = None

    def _reader(self) -> _ReadConnection:
        kept: _Kept | None = getattr(self._readers, "kept", None)
        pid = os.getpid()
        if kept is not None and kept.conn.depth > 0 and kept.conn.pid == pid:
            return kept.conn  # a read inside a read: the same connection
        # A forked child never uses its parent's connection; and a read follows the file at
        # ``path`` as a write does: a root deleted (or made again) while this object lives
        # is not read from the unlinked file the kept connection still has open.
        if kept is None or kept.conn.pid != pid or kept.conn.file != _identity(self.path):
            # Any thread may close it (see _Kept); only this one uses it (the thread-local).
            conn = sqlite3.connect(
                self.path,
                timeout=60.0,
                isolation_level=None,
                check_same_thread=False,
                factory=_ReadConnection,
            )
            kept = _Kept(_configured(conn))
            kept.conn.file = _identity(self.path)
            self._readers.kept = kept
        return kept.conn

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


def _identity(path: Path) -> tuple[int, int] | None:
    """Which file ``path`` is now (device and inode; ``None``: none there)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return (info.st_dev, info.st_ino)


def _configured(conn: _Connection) -> _Connection:
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 60000")
    return conn


class _Kept:
    """A thread's kept read connection as the thread-local holds it: when the thread ends or the
    :class:`Database` goes, this holder goes and closes the connection, in whichever thread that
    happens. Left to the garbage collector, the connection would stay open for as long as
    anything still referred to it, and Python 3.13 warns of every connection it closes
    (``ResourceWarning: unclosed database``), an error under ``-W error``."""

    __slots__ = ("conn",)

    def __init__(self, conn: _ReadConnection) -> None:
        self.conn = conn

    def __del__(self) -> None:
        self.conn.close()


class _ReadConnection(sqlite3.Connection):
    """The connection :meth:`Database.read` keeps: it remembers the cursors made on it so that
    the end of a read closes them (an unfinished statement holds the shared lock)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pid = os.getpid()
        self.depth = 0
        #: The file it opened (:func:`_identity`), set by :meth:`Database._reader`.
        self.file: tuple[int, int] | None = None
        self._cursors: list[weakref.ref[sqlite3.Cursor]] = []

    def cursor(self, factory: Any = sqlite3.Cursor) -> Any:
        made = super().cursor(factory)
        self._cursors.append(weakref.ref(made))
        return made

    # Connection's shortcuts make their cursor in C, past cursor() above: made here instead.
    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        cursor: sqlite3.Cursor = self.cursor()
        return cursor.execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        cursor: sqlite3.Cursor = self.cursor()
        return cursor.executemany(sql, parameters)

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        cursor: sqlite3.Cursor = self.cursor()
        return cursor.executescript(sql_script)

    def end_read(self, keep: bool) -> None:
        """Close the read's cursors and end any transaction it began; close the connection too
        unless it is ``keep``-ed for the next read."""
        for made in self._cursors:
            cursor = made()
            if cursor is not None:
                cursor.close()
        self._cursors.clear()
        if self.in_transaction:
            self.rollback()
        if not keep:
            self.close()
