"""``amlemu env``: the variables that point the real ``azure-ai-ml`` at the running emulator.

``eval "$(amlemu env)"`` (bash/zsh), ``amlemu env --shell fish | source``, ``amlemu env --shell
powershell | Invoke-Expression``. Warnings (credentials that would keep ``DefaultAzureCredential``
from the emulator's identity) go to stderr, so evaluating stdout stays safe.
``--write-config`` also writes ``config.json`` for ``MLClient.from_config()``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from emulator.arm.identity import identity_secret
from emulator.cli.daemon_cmd import _guard
from emulator.daemon import DaemonError
from emulator.daemon.ca import LocalCA
from emulator.daemon.client_env import (
    SHELLS,
    client_environment,
    credential_warnings,
    render,
    write_config,
)
from emulator.daemon.files import DaemonFiles
from emulator.dockerapi import daemon_variables
from emulator.state import workspace_states
from emulator.store.root import EmulatorRoot


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "env", help="print the variables that point azure-ai-ml (SDK v2) at the emulator"
    )
    parser.add_argument("--shell", choices=SHELLS, default="bash", help="syntax (default: bash)")
    parser.add_argument(
        "--write-config",
        nargs="?",
        const="config.json",
        metavar="PATH",
        help="also write config.json for MLClient.from_config() (default path: ./config.json)",
    )
    parser.add_argument("-w", "--workspace", help="workspace name for --write-config")
    parser.add_argument("--subscription-id", help="subscription id for --write-config")
    parser.add_argument("--resource-group", help="resource group for --write-config")
    parser.set_defaults(handler=_guard(_env))


def _env(args: argparse.Namespace) -> int:
    root = EmulatorRoot.current()
    info = DaemonFiles.for_root(root.path).running()
    if info is None:
        raise DaemonError(
            f"No emulator daemon runs for {root.path}. Start one with `amlemu up --detach` "
            "(or run your script with `amlemu run script.py`, which needs none)."
        )
    for warning in credential_warnings(os.environ):
        print(f"amlemu: warning: {warning}", file=sys.stderr)
    secret = identity_secret(root.path / "daemon")
    variables = client_environment(LocalCA.for_root(root.path), info.base_url, secret, os.environ)
    variables.update(daemon_variables(root.path, os.environ))  # DOCKER_HOST, for local=True
    if args.write_config:
        sub, rg, name = _config_names(root, args)
        path = write_config(Path(args.write_config), sub, rg, name)
        print(f"amlemu: wrote {path} (workspace {name} in {sub}/{rg})", file=sys.stderr)
    sys.stdout.write(render(variables, args.shell))
    return 0


def _config_names(root: EmulatorRoot, args: argparse.Namespace) -> tuple[str, str, str]:
    """The three names for config.json: the flags, else the root's only workspace."""
    given = (args.subscription_id, args.resource_group, args.workspace)
    if all(given):
        return given
    known = [state.record for state in workspace_states(root).all()]
    if not any(given) and len(known) == 1:
        return known[0].subscription_id, known[0].resource_group, known[0].name
    flags = ("--subscription-id", "--resource-group", "--workspace")
    missing = [flag for flag, value in zip(flags, given, strict=True) if not value]
    raise DaemonError(
        f"--write-config needs the workspace's names: pass {', '.join(missing)} (the workspace "
        "is created on first use unless strict mode is on)."
    )
