"""``WorkspaceState``: everything one workspace holds, as registries over the emulator root."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.compute.registry import ComputeRegistry
from emulator.images.registry import ImageRegistry
from emulator.models.registry import ModelRegistry
from emulator.services.registry import ServiceRegistry
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceRecord, WorkspaceStore

if TYPE_CHECKING:
    from emulator.services.manager import ServiceManager


@dataclass(frozen=True, eq=False)
class WorkspaceState:
    """The registries of one workspace of one emulator root.

    The registries hold no rows in memory (every call reads SQLite), so any number of these
    objects, in any number of processes, see the same workspace; two of them are equal when
    they are the same workspace of the same root.
    """

    root: EmulatorRoot
    record: WorkspaceRecord
    models: ModelRegistry
    images: ImageRegistry
    services: ServiceRegistry
    compute: ComputeRegistry

    @classmethod
    def of(cls, root: EmulatorRoot, record: WorkspaceRecord) -> WorkspaceState:
        """The state of the stored workspace ``record``."""
        return cls(
            root=root,
            record=record,
            models=ModelRegistry(root, record.id),
            images=ImageRegistry(
                root, record.id, WorkspaceStore(root).directory(record) / "images"
            ),
            services=ServiceRegistry(root, record.id),
            compute=ComputeRegistry(root, record),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WorkspaceState):
            return NotImplemented
        return (self.root.path, self.id) == (other.root.path, other.id)

    def __hash__(self) -> int:
        return hash((self.root.path, self.id))

    @property
    def id(self) -> int:
        """The workspace's row id: the key every registry and fault store uses."""
        return self.record.id

    @property
    def directory(self) -> Path:
        """Per-workspace scratch space (image builds, profiles) outside the database."""
        return WorkspaceStore(self.root).directory(self.record)

    def service_manager(self) -> ServiceManager:
        """The deploy/update/delete operations over this workspace's services and images.

        Imported here rather than at the top: the manager pulls in the gateways and runtime
        (about 160 modules), which ``import emulator`` and registry-only callers do not need.
        """
        from emulator.services.manager import ServiceManager

        return ServiceManager(self.root, self.record.id, self.images, self.compute)
