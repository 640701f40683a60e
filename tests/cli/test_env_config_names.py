"""``amlemu env --write-config``: which workspace config.json names when no flag names one."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from emulator.cli.env_cmd import _config_names
from emulator.daemon import DaemonError
from emulator.state import workspace_states
from emulator.store.root import EmulatorRoot


def _args(**names: str | None) -> argparse.Namespace:
    return argparse.Namespace(
        subscription_id=names.get("subscription_id"),
        resource_group=names.get("resource_group"),
        workspace=names.get("workspace"),
    )


def test_the_roots_only_workspace_is_named_as_it_was_created(tmp_path: Path) -> None:
    root = EmulatorRoot(tmp_path / "root")
    workspace_states(root).create("Sub-1", "My-RG", "My-WS")
    assert _config_names(root, _args()) == ("Sub-1", "My-RG", "My-WS")


def test_with_two_workspaces_the_missing_flags_are_named(tmp_path: Path) -> None:
    root = EmulatorRoot(tmp_path / "root")
    workspace_states(root).create("sub", "rg", "first")
    workspace_states(root).create("sub", "rg", "second")
    with pytest.raises(DaemonError, match="pass --subscription-id, --resource-group, --workspace"):
        _config_names(root, _args())
    with pytest.raises(DaemonError, match=r"pass --resource-group \(the workspace"):
        _config_names(root, _args(subscription_id="sub", workspace="first"))
