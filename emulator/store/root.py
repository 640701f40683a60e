"""An emulator root: the directory that holds the metadata database and the blob store.

A new root is created readable by its owner only (0700): it holds service keys, token secrets
and model files, which other local users must not read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from emulator.settings import emulator_root
from emulator.store.blobs import BlobStore
from emulator.store.database import Database


@dataclass(frozen=True)
class EmulatorRoot:
    """All persistent state: ``registry.sqlite3``, ``blobs/`` and ``workspaces/`` under ``path``."""

    path: Path
    db: Database = field(init=False, repr=False)
    blobs: BlobStore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        object.__setattr__(self, "db", Database(self.path / "registry.sqlite3"))
        object.__setattr__(self, "blobs", BlobStore(self.path / "blobs"))

    @classmethod
    def current(cls) -> EmulatorRoot:
        """The root named by ``AZUREML_EMULATOR_ROOT`` (or the per-user default)."""
        return cls(emulator_root())
