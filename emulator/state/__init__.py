"""One public way into a workspace's state, for every face (v1 SDK, CLI, portal, REST).

Like moto's ``*_backends[account][region]``: :func:`workspace_states` gives the workspaces of an
emulator root, looked up by subscription, resource group and name (case-insensitively, as Azure
resource names are); each :class:`WorkspaceState` holds that workspace's registries. Nothing
here imports a face.
"""

from emulator.state.backends import WorkspaceStates, workspace_states
from emulator.state.workspace_state import WorkspaceState

__all__ = ["WorkspaceState", "WorkspaceStates", "workspace_states"]
