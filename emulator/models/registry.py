"""The model registry of one workspace: versions, files, tags and properties.

Registration copies every file into the blob store first and then records the model in one
SQLite transaction. A crash before the commit leaves at most unreferenced blobs (never a row
without its files); concurrent registrations of one name serialise on the database lock, so
versions are handed out exactly once each.
"""

from __future__ import annotations

import getpass
import json
import os
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

from emulator.exceptions import BadArgument, NotFound
from emulator.models.naming import validate_model_name
from emulator.models.provenance import library_versions
from emulator.models.records import ModelFile, ModelRecord
from emulator.store.database import timestamp
from emulator.store.root import EmulatorRoot


class ModelRegistry:
    """Registered models of the workspace ``workspace_id`` under an emulator root."""

    def __init__(self, root: EmulatorRoot, workspace_id: int) -> None:
        self.root = root
        self.workspace_id = workspace_id

    # -- writes ----------------------------------------------------------------------------------

    def register(
        self,
        source: Path,
        name: str,
        *,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        framework: str | None = None,
        framework_version: str | None = None,
        child_paths: Sequence[str] | None = None,
    ) -> ModelRecord:
        """Store ``source`` (a file or a folder) as the next version of ``name``."""
        validate_model_name(name)
        source = Path(source)
        files = _collect_files(source, child_paths)
        stored: list[ModelFile] = []
        for rel, path in files:
            digest, size = self.root.blobs.put(path)
            stored.append(ModelFile(rel, digest, size, os.access(path, os.X_OK)))
        versions = library_versions([path for _, path in files])
        now = timestamp()
        with self.root.db.transaction() as conn:
            conn.execute(
                "INSERT INTO model_versions (workspace_id, name, last_version) VALUES (?, ?, 1)"
                " ON CONFLICT (workspace_id, name) DO UPDATE SET last_version = last_version + 1",
                (self.workspace_id, name),
            )
            (version,) = conn.execute(
                "SELECT last_version FROM model_versions WHERE workspace_id=? AND name=?",
                (self.workspace_id, name),
            ).fetchone()
            cur = conn.execute(
                "INSERT INTO models (workspace_id, name, version, kind, root_name, description,"
                " tags, properties, framework, framework_version, library_versions, asset_id,"
                " created_time, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.workspace_id,
                    name,
                    version,
                    "file" if source.is_file() else "folder",
                    source.name,
                    description,
                    json.dumps(tags or {}),
                    json.dumps(properties or {}),
                    framework,
                    framework_version,
                    json.dumps(versions),
                    uuid.uuid4().hex,
                    now,
                    _current_user(),
                ),
            )
            conn.executemany(
                "INSERT INTO model_files (model_id, path, digest, size, executable)"
                " VALUES (?, ?, ?, ?, ?)",
                [(cur.lastrowid, f.path, f.digest, f.size, int(f.executable)) for f in stored],
            )
        record = self.get(name, version)
        assert record is not None
        return record

    def update(
        self,
        record: ModelRecord,
        *,
        add_tags: dict[str, str] | None = None,
        remove_tags: Iterable[str] = (),
        add_properties: dict[str, str] | None = None,
        description: str | None = None,
    ) -> ModelRecord:
        """Change tags, properties or the description in one transaction.

        Properties are immutable once set, as in Azure: adding an existing key is an error.
        """
        with self.root.db.transaction() as conn:
            row = conn.execute("SELECT * FROM models WHERE id=?", (record.id,)).fetchone()
            if row is None:
                raise NotFound(
                    not_found_message(name=record.name, version=record.version),
                    code="ModelNotFound",
                )
            tags = json.loads(row["tags"])
            properties = json.loads(row["properties"])
            if add_properties:
                clash = sorted(k for k in add_properties if k in properties)
                if clash:
                    raise BadArgument(
                        "Error, properties are immutable, the following keys cannot be "
                        f"added/modified: {','.join(clash)}"
                    )
                properties.update(add_properties)
            tags.update(add_tags or {})
            for key in remove_tags:
                tags.pop(key, None)
            conn.execute(
                "UPDATE models SET tags=?, properties=?, description=? WHERE id=?",
                (
                    json.dumps(tags),
                    json.dumps(properties),
                    row["description"] if description is None else description,
                    record.id,
                ),
            )
        updated = self.get(record.name, record.version)
        assert updated is not None
        return updated

    def delete(self, record: ModelRecord) -> None:
        """Remove one version; its number is never handed out again. Unused blobs are freed."""
        with self.root.db.transaction() as conn:
            conn.execute("DELETE FROM models WHERE id=?", (record.id,))
        with self.root.db.read() as conn:
            referenced = {r[0] for r in conn.execute("SELECT DISTINCT digest FROM model_files")}
        self.root.blobs.sweep(referenced)

    # -- reads -----------------------------------------------------------------------------------

    def get(self, name: str, version: int | None = None) -> ModelRecord | None:
        """The given version of ``name``, or its latest when ``version`` is None."""
        query = "SELECT * FROM models WHERE workspace_id=? AND name=?"
        args: tuple[object, ...] = (self.workspace_id, name)
        if version is not None:
            query += " AND version=?"
            args += (version,)
        records = self._select(query + " ORDER BY version DESC LIMIT 1", args)
        return records[0] if records else None

    def records(self, name: str | None = None, latest: bool = False) -> list[ModelRecord]:
        """All versions (newest first per name), optionally of one name or only the latest."""
        query = "SELECT * FROM models WHERE workspace_id=?"
        args: tuple[object, ...] = (self.workspace_id,)
        if name is not None:
            query += " AND name=?"
            args += (name,)
        records = self._select(query + " ORDER BY name, version DESC", args)
        return latest_per_name(records) if latest else records

    def _select(self, query: str, args: tuple[object, ...]) -> list[ModelRecord]:
        with self.root.db.read() as conn:
            rows = conn.execute(query, args).fetchall()
            return [
                ModelRecord.from_rows(
                    row,
                    conn.execute(
                        "SELECT * FROM model_files WHERE model_id=? ORDER BY path", (row["id"],)
                    ).fetchall(),
                )
                for row in rows
            ]

    # -- files -----------------------------------------------------------------------------------

    def materialize(self, record: ModelRecord, target_dir: Path, exist_ok: bool = False) -> Path:
        """Write the model's files under ``target_dir`` as registered; returns the file or folder.

        Every destination is checked before anything is written, so a refusal changes nothing.
        """
        target_dir = Path(target_dir)
        if not exist_ok:
            for f in record.files:
                dest = target_dir / f.path
                if dest.exists():
                    raise BadArgument(
                        f"File already exists. To overwrite, set exist_ok to True. {dest}"
                    )
        for f in record.files:
            self.root.blobs.materialize(f.digest, target_dir / f.path, f.executable)
        return target_dir / record.root_name


def _collect_files(source: Path, child_paths: Sequence[str] | None) -> list[tuple[str, Path]]:
    """``(name relative to source's parent, absolute path)`` for every file to register."""
    if source.is_file():
        return [(source.name, source)]
    roots = [source / child for child in child_paths] if child_paths else [source]
    files: list[tuple[str, Path]] = []
    for root in roots:
        candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in candidates:
            files.append((path.relative_to(source.parent).as_posix(), path))
    if not files:
        raise BadArgument(
            f"Model folder {source} contains no files, so there is nothing to register. "
            "Put the model files in it (or register the file itself) and try again."
        )
    return files


def latest_per_name(records: Iterable[ModelRecord]) -> list[ModelRecord]:
    """The newest version of each name, keeping the input order."""
    newest: dict[str, ModelRecord] = {}
    for record in records:
        if record.name not in newest or record.version > newest[record.name].version:
            newest[record.name] = record
    return list(newest.values())


def not_found_message(**filters: object) -> str:
    """The service's message for a failed lookup; only the filters that were given are named."""
    parts = ", ".join(f"{key} {value}" for key, value in filters.items() if value)
    return f"ModelNotFound: Model with {parts} not found in provided workspace"


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
