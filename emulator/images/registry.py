"""Image records of one workspace: versions per name, creation state, location, errors.

A build records the pid of the process running it; an image still ``Running`` whose process
is gone is marked ``Failed`` the next time it is read, so a killed build never looks alive.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from emulator.images.naming import validate_image_name
from emulator.images.records import CreationState, ImageRecord
from emulator.store.blobs import pid_alive
from emulator.store.database import timestamp
from emulator.store.root import EmulatorRoot

_INTERRUPTED = {
    "code": "ImageBuildInterrupted",
    "message": "The process that was building this image exited before the build finished. "
    "Create the image again.",
}


class ImageRegistry:
    """Images of the workspace ``workspace_id``; files go under ``images_dir``."""

    def __init__(self, root: EmulatorRoot, workspace_id: int, images_dir: Path) -> None:
        self.root = root
        self.workspace_id = workspace_id
        self.images_dir = images_dir

    def create(
        self,
        name: str,
        *,
        builder: str,
        flavor: str = "WebApiContainer",
        description: str | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        model_ids: Iterable[str] = (),
        entry_script: str | None = None,
    ) -> ImageRecord:
        """A new ``NotStarted`` version of ``name`` with its own directory."""
        validate_image_name(name)  # the name becomes a directory: never one outside the root
        now = timestamp()
        with self.root.db.transaction() as conn:
            conn.execute(
                "INSERT INTO image_versions (workspace_id, name, last_version) VALUES (?, ?, 1)"
                " ON CONFLICT (workspace_id, name) DO UPDATE SET last_version = last_version + 1",
                (self.workspace_id, name),
            )
            (version,) = conn.execute(
                "SELECT last_version FROM image_versions WHERE workspace_id=? AND name=?",
                (self.workspace_id, name),
            ).fetchone()
            directory = self.images_dir / name / str(version)
            cur = conn.execute(
                "INSERT INTO images (workspace_id, name, version, state, builder, flavor,"
                " description, tags, properties, model_ids, entry_script, directory,"
                " created_time, updated_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.workspace_id,
                    name,
                    version,
                    CreationState.NOT_STARTED.value,
                    builder,
                    flavor,
                    description,
                    json.dumps(tags or {}),
                    json.dumps(properties or {}),
                    json.dumps(list(model_ids)),
                    entry_script,
                    str(directory),
                    now,
                    now,
                ),
            )
            image_id = cur.lastrowid
        directory.mkdir(parents=True, exist_ok=True)
        return self._by_id(image_id)

    def update(self, record: ImageRecord, **fields: Any) -> ImageRecord:
        """Set columns (``state``, ``location``, ``error``, ``tags``, ...) of one image."""
        encoded = {
            key: (
                value.value
                if isinstance(value, CreationState)
                else json.dumps(value)
                if isinstance(value, dict)
                else value
            )
            for key, value in fields.items()
        }
        encoded["updated_time"] = timestamp()
        assignments = ", ".join(f"{key}=?" for key in encoded)
        with self.root.db.transaction() as conn:
            conn.execute(
                f"UPDATE images SET {assignments} WHERE id=?", (*encoded.values(), record.id)
            )
        return self._by_id(record.id)

    def delete(self, record: ImageRecord) -> None:
        with self.root.db.transaction() as conn:
            conn.execute("DELETE FROM images WHERE id=?", (record.id,))

    def get(self, name: str, version: int | None = None) -> ImageRecord | None:
        """The given version of ``name``, or its newest."""
        query = "SELECT * FROM images WHERE workspace_id=? AND name=?"
        args: tuple[object, ...] = (self.workspace_id, name)
        if version is not None:
            query += " AND version=?"
            args += (version,)
        found = self._select(query + " ORDER BY version DESC LIMIT 1", args)
        return found[0] if found else None

    def records(self, name: str | None = None) -> list[ImageRecord]:
        """All images (newest version first per name), optionally of one name."""
        query = "SELECT * FROM images WHERE workspace_id=?"
        args: tuple[object, ...] = (self.workspace_id,)
        if name is not None:
            query += " AND name=?"
            args += (name,)
        return self._select(query + " ORDER BY name, version DESC", args)

    def _by_id(self, image_id: int | None) -> ImageRecord:
        (record,) = self._select("SELECT * FROM images WHERE id=?", (image_id,))
        return record

    def _select(self, query: str, args: tuple[object, ...]) -> list[ImageRecord]:
        with self.root.db.read() as conn:
            records = [ImageRecord.from_row(row) for row in conn.execute(query, args)]
        return [self._reconciled(r) for r in records]

    def _reconciled(self, record: ImageRecord) -> ImageRecord:
        orphaned = (
            not record.state.terminal
            and record.owner_pid is not None
            and record.owner_pid != os.getpid()
            and not pid_alive(record.owner_pid)
        )
        if not orphaned:
            return record
        return self.update(record, state=CreationState.FAILED, error=_INTERRUPTED)
