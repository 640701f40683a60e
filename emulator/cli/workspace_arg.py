"""How CLI commands pick a workspace without ever creating one."""

from __future__ import annotations

import argparse

from emulator.errors import UserErrorException
from emulator.sdk.workspace import Workspace
from emulator.sdk.workspace_config import find_config, read_config
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceStore


def add_workspace_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-w", "--workspace", help="workspace name")
    parser.add_argument("--subscription-id", help="subscription of the workspace")
    parser.add_argument("--resource-group", help="resource group of the workspace")


def select_workspace(args: argparse.Namespace) -> Workspace:
    """``--workspace``, else ``config.json`` found from the working directory, else the only one."""
    root = EmulatorRoot.current()
    store = WorkspaceStore(root)
    if args.workspace:
        wanted = (args.subscription_id, args.resource_group, args.workspace)
    else:
        try:
            wanted = read_config(find_config("."))
        except UserErrorException:
            known = store.all()
            if len(known) == 1:
                return Workspace._from_record(root, known[0])
            wanted = None
    if wanted is not None:
        sub, rg, name = wanted
        matches = store.matching(name, sub, rg)
        if len(matches) == 1:
            return Workspace._from_record(root, matches[0])
    names = ", ".join(f"{r.name} ({r.subscription_id}/{r.resource_group})" for r in store.all())
    raise UserErrorException(
        "Could not tell which workspace to use"
        + (f": no unique workspace '{wanted[2]}'" if wanted else "")
        + f". Workspaces under {root.path}: {names or 'none'}. Pass --workspace NAME "
        "(and --subscription-id/--resource-group if the name is ambiguous)."
    )
