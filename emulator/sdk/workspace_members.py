"""``Workspace.list`` and ``get_mlflow_tracking_uri``: a mixin of
:class:`emulator.sdk.workspace.Workspace` (signatures of azureml-core 1.61).

``list`` answers from the emulator root's workspaces (Azure: those the credentials can read),
keyed by name, each name to the list of workspaces so named. ``get_mlflow_tracking_uri`` gives a
``file:`` URI to the workspace's own ``mlruns`` folder: MLflow's file store records runs there
offline, where Azure gives the workspace's ``azureml://`` tracking server (which needs
``azureml-mlflow`` and the cloud).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.state import WorkspaceState, workspace_states

if TYPE_CHECKING:
    from emulator.sdk.workspace import Workspace


class WorkspaceMembers:
    """What ``Workspace`` adds beyond lookup and its registries."""

    _state: WorkspaceState

    @staticmethod
    def list(
        subscription_id: str | None,
        auth: object = None,
        resource_group: str | None = None,
    ) -> dict[str, list[Workspace]]:
        """Name -> the workspaces so named, in ``subscription_id`` (``None``: every
        subscription) and ``resource_group`` (``None``: every one)."""
        from emulator.sdk.workspace import workspace_of

        found: dict[str, list[Workspace]] = {}
        for state in workspace_states().all():
            record = state.record
            if subscription_id and record.subscription_id != subscription_id:
                continue
            if resource_group and record.resource_group.lower() != resource_group.lower():
                continue
            found.setdefault(record.name, []).append(workspace_of(state))
        return found

    def get_mlflow_tracking_uri(self, _with_auth: bool = False) -> str:
        """The tracking URI to give ``mlflow.set_tracking_uri``: the workspace's ``mlruns``
        folder (created on first use)."""
        folder = self._state.directory / "mlruns"
        folder.mkdir(parents=True, exist_ok=True)
        return folder.resolve().as_uri()
