"""Persistent state: SQLite metadata, the content-addressed blob store, workspace records."""

from emulator.store.blobs import BlobStore
from emulator.store.database import Database
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceRecord, WorkspaceStore

__all__ = ["BlobStore", "Database", "EmulatorRoot", "WorkspaceRecord", "WorkspaceStore"]
