"""The workspaces of an emulator root: ``workspace_states(root).get(sub, rg, name)``.

Azure resource names are case-insensitive (ARM finds ``MyRG``/``MyWS`` as ``myrg``/``myws``;
subscription ids are GUIDs in either case), so lookups here are too, while the record keeps the
name as it was first created, which is the name Azure shows. Nothing is cached: every call
reads the root's database, so workspaces created by another process are found at once.
"""

from __future__ import annotations

from emulator.state.workspace_state import WorkspaceState
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceStore


class WorkspaceStates:
    """Finds and creates the workspaces of one emulator root, as :class:`WorkspaceState`."""

    def __init__(self, root: EmulatorRoot) -> None:
        self.root = root
        self._store = WorkspaceStore(root)

    def get(self, subscription_id: str, resource_group: str, name: str) -> WorkspaceState | None:
        """The workspace ``name`` of that resource group and subscription, or ``None``."""
        record = self._store.find(subscription_id, resource_group, name)
        return WorkspaceState.of(self.root, record) if record else None

    def create(
        self,
        subscription_id: str,
        resource_group: str,
        name: str,
        location: str | None = None,
        sku: str = "basic",
        tags: dict[str, str] | None = None,
    ) -> tuple[WorkspaceState, bool]:
        """The workspace, created unless it exists (in any case); returns ``(state, created)``."""
        record, created = self._store.create(
            subscription_id, resource_group, name, location, sku, tags
        )
        return WorkspaceState.of(self.root, record), created

    def by_id(self, workspace_id: int) -> WorkspaceState | None:
        """The workspace with this row id (what registries and fault stores key on)."""
        record = self._store.by_id(workspace_id)
        return WorkspaceState.of(self.root, record) if record else None

    def matching(
        self, name: str, subscription_id: str | None = None, resource_group: str | None = None
    ) -> list[WorkspaceState]:
        """Workspaces called ``name``, narrowed by subscription/resource group when given."""
        return [
            WorkspaceState.of(self.root, r)
            for r in self._store.matching(name, subscription_id, resource_group)
        ]

    def all(self) -> list[WorkspaceState]:
        """Every workspace of the root, by name."""
        return [WorkspaceState.of(self.root, r) for r in self._store.all()]


def workspace_states(root: EmulatorRoot | None = None) -> WorkspaceStates:
    """The workspaces of ``root`` (default: the current root, as ``AZUREML_EMULATOR_ROOT`` or an
    active ``mock_aml(root=...)`` says)."""
    return WorkspaceStates(root if root is not None else EmulatorRoot.current())
