"""How CLI commands pick a workspace without ever creating one."""

from __future__ import annotations

import argparse

from emulator.errors import UserErrorException
from emulator.sdk.workspace import Workspace, workspace_of
from emulator.sdk.workspace_config import find_config, read_config
from emulator.state import workspace_states


def add_workspace_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-w", "--workspace", help="workspace name")
    parser.add_argument("--subscription-id", help="subscription of the workspace")
    parser.add_argument("--resource-group", help="resource group of the workspace")


def select_workspace(args: argparse.Namespace) -> Workspace:
    """``--workspace``, else ``config.json`` found from the working directory, else the only one."""
    states = workspace_states()
    if args.workspace:
        wanted = (args.subscription_id, args.resource_group, args.workspace)
    else:
        try:
            wanted = read_config(find_config("."))
        except UserErrorException:
            known = states.all()
            if len(known) == 1:
                return workspace_of(known[0])
            wanted = None
    if wanted is not None:
        sub, rg, name = wanted
        matches = states.matching(name, sub, rg)
        if len(matches) == 1:
            return workspace_of(matches[0])
    names = ", ".join(
        f"{s.record.name} ({s.record.subscription_id}/{s.record.resource_group})"
        for s in states.all()
    )
    raise UserErrorException(
        "Could not tell which workspace to use"
        + (f": no unique workspace '{wanted[2]}'" if wanted else "")
        + f". Workspaces under {states.root.path}: {names or 'none'}. Pass --workspace NAME "
        "(and --subscription-id/--resource-group if the name is ambiguous)."
    )
