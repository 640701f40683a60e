"""The blob containers of the emulated storage accounts: names → content in the blob store.

A committed blob is one row (account, container, name) → digest of its content in a
content-addressed :class:`~emulator.store.blobs.BlobStore` of its own (``blob-containers/
content``): the root's store is swept of what no model references, and uploads (code, inputs)
are not models.
Blocks of a block upload are staged apart, under ``<root>/blob-containers/blocks``, and become
visible only when the block list is committed: the content is assembled, stored and the row
written in one SQLite transaction. A client killed mid-upload leaves staged blocks (invisible,
as in Azure, and removed when a later commit of the same blob succeeds), never a half blob.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from emulator.exceptions import BadArgument
from emulator.store.blobs import BlobStore
from emulator.store.database import Database
from emulator.store.root import EmulatorRoot

#: Uncommitted blocks older than this are discarded (Azure: one week).
ABANDONED_BLOCKS_SECONDS = 7 * 24 * 3600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS blobs (
    account TEXT NOT NULL,
    container TEXT NOT NULL,
    name TEXT NOT NULL,
    digest TEXT NOT NULL,
    size INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    metadata TEXT NOT NULL,
    etag TEXT NOT NULL,
    modified REAL NOT NULL,
    PRIMARY KEY (account, container, name)
);
"""


@dataclass(frozen=True)
class StoredBlob:
    """A committed blob as a reader sees it."""

    name: str
    digest: str
    size: int
    content_type: str
    metadata: dict[str, str]
    etag: str
    modified: float


class BlobContainers:
    """Every emulated storage account's containers under one emulator root."""

    def __init__(self, root: EmulatorRoot) -> None:
        self.root = root
        self._dir = root.path / "blob-containers"
        self._blocks = self._dir / "blocks"
        self._blocks.mkdir(parents=True, exist_ok=True)
        self.content = BlobStore(self._dir / "content")
        self._db = Database(self._dir / "index.sqlite3", schema=_SCHEMA, version=1)

    # -- writes ----------------------------------------------------------------------------------

    def put(
        self,
        account: str,
        container: str,
        name: str,
        source: Path,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> StoredBlob:
        """Put Blob: ``source``'s content becomes the blob ``name`` (replacing any earlier one)."""
        _check_name(name)
        digest, size = self.content.put(source)
        now = time.time()
        etag = f'"0x{time.time_ns():X}"'
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO blobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    account,
                    container,
                    name,
                    digest,
                    size,
                    content_type,
                    json.dumps(metadata or {}),
                    etag,
                    now,
                ),
            )
        shutil.rmtree(self._staging(account, container, name), ignore_errors=True)
        blob = self.get(account, container, name)
        assert blob is not None
        return blob

    def link(self, account: str, container: str, name: str, digest: str, size: int) -> None:
        """Make content of the root's blob store visible as ``name`` (copied once per content);
        an existing blob of that name is kept. Registered models are published this way."""
        _check_name(name)
        if not self.content.path_for(digest).is_file():
            self.content.put(self.root.blobs.path_for(digest))
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO blobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    account,
                    container,
                    name,
                    digest,
                    size,
                    "application/octet-stream",
                    "{}",
                    f'"0x{time.time_ns():X}"',
                    time.time(),
                ),
            )

    def stage_block(
        self, account: str, container: str, name: str, block_id: str, data: bytes
    ) -> None:
        """Put Block: keep ``data`` apart until a block list names it; nothing is visible yet."""
        _check_name(name)
        self._discard_abandoned_blocks()
        staging = self._staging(account, container, name)
        staging.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=staging, suffix=".part")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, staging / _block_file(block_id))

    def commit_blocks(
        self,
        account: str,
        container: str,
        name: str,
        block_ids: Sequence[str],
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> StoredBlob:
        """Put Block List: the named staged blocks, in order, become the blob at once."""
        staging = self._staging(account, container, name)
        missing = [b for b in block_ids if not (staging / _block_file(b)).is_file()]
        if missing:
            raise BadArgument(
                f"The specified block list is invalid: block {missing[0]!r} of blob {name!r} "
                "was never uploaded (Put Block). Upload every block before committing the list.",
                code="InvalidBlockList",
            )
        fd, tmp = tempfile.mkstemp(dir=self._dir, suffix=".assembling")
        try:
            with os.fdopen(fd, "wb") as out:
                for block_id in block_ids:
                    with open(staging / _block_file(block_id), "rb") as src:
                        shutil.copyfileobj(src, out)
            return self.put(account, container, name, Path(tmp), content_type, metadata)
        finally:
            os.unlink(tmp)

    def set_metadata(
        self, account: str, container: str, name: str, metadata: dict[str, str]
    ) -> StoredBlob | None:
        """Set Blob Metadata: replaces all of it, as Azure does; None when there is no blob."""
        with self._db.transaction() as conn:
            cur = conn.execute(
                "UPDATE blobs SET metadata=?, etag=?, modified=? "
                "WHERE account=? AND container=? AND name=?",
                (
                    json.dumps(metadata),
                    f'"0x{time.time_ns():X}"',
                    time.time(),
                    account,
                    container,
                    name,
                ),
            )
            if cur.rowcount == 0:
                return None
        return self.get(account, container, name)

    # -- reads -----------------------------------------------------------------------------------

    def get(self, account: str, container: str, name: str) -> StoredBlob | None:
        """The committed blob ``name``, or None (staged blocks alone are not a blob)."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT * FROM blobs WHERE account=? AND container=? AND name=?",
                (account, container, name),
            ).fetchone()
        return _blob(row) if row else None

    def list(self, account: str, container: str, prefix: str = "") -> list[StoredBlob]:
        """Committed blobs whose names start with ``prefix``, in name order (List Blobs)."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM blobs WHERE account=? AND container=? AND substr(name, 1, ?) = ? "
                "ORDER BY name",
                (account, container, len(prefix), prefix),
            ).fetchall()
        return [_blob(r) for r in rows]

    def content_path(self, blob: StoredBlob) -> Path:
        """Where the blob's content is (read-only, in the content-addressed store)."""
        return self.content.path_for(blob.digest)

    def _discard_abandoned_blocks(self) -> None:
        """Azure discards uncommitted blocks a week after their last Put Block; so does this
        (a client that died mid-upload would otherwise leave them on disk forever)."""
        cutoff = time.time() - ABANDONED_BLOCKS_SECONDS
        for staging in self._blocks.iterdir():
            try:
                if staging.stat().st_mtime < cutoff:
                    shutil.rmtree(staging, ignore_errors=True)
            except FileNotFoundError:  # committed or discarded meanwhile by another request
                continue

    def _staging(self, account: str, container: str, name: str) -> Path:
        key = hashlib.sha256(f"{account}\0{container}\0{name}".encode()).hexdigest()
        return self._blocks / key


def _blob(row: sqlite3.Row) -> StoredBlob:
    return StoredBlob(
        name=row["name"],
        digest=row["digest"],
        size=row["size"],
        content_type=row["content_type"],
        metadata=json.loads(row["metadata"]),
        etag=row["etag"],
        modified=row["modified"],
    )


def _block_file(block_id: str) -> str:
    """A block id (base64, client-chosen) as a safe file name."""
    return base64.b16encode(block_id.encode()).decode()


def _check_name(name: str) -> None:
    if not name or len(name) > 1024 or name.startswith("/") or ".." in name.split("/"):
        raise BadArgument(
            f"The blob name {name!r} is invalid: it must be 1 to 1024 characters, not start "
            "with '/' and have no '..' segment (the emulator writes blobs out as files)."
        )
