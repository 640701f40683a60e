"""A root written by another emulator release: an older one is migrated in place (its models and
workspaces kept), a newer one is refused with the fix before anything is written to it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from daemon_harness import DaemonRoot

from emulator.exceptions import InvalidSetting
from emulator.store.database import SCHEMA_VERSION
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceStore

#: The tables format 1 (the first release) did not have: images, compute and services came later.
LATER_TABLES = ("image_versions", "images", "compute_reservations", "compute_targets", "services")


def _format(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {row[0] for row in rows}


def test_a_root_of_the_first_release_is_migrated_and_keeps_its_workspaces(
    tmp_path: Path,
) -> None:
    path = tmp_path / "root"
    WorkspaceStore(EmulatorRoot(path)).create("sub", "rg", "old-ws")
    registry = path / "registry.sqlite3"
    with sqlite3.connect(registry) as conn:  # what the first release wrote: format 1
        for table in LATER_TABLES:
            conn.execute(f"DROP TABLE {table}")
        conn.execute("PRAGMA user_version = 1")

    root = EmulatorRoot(path)

    assert _format(registry) == SCHEMA_VERSION
    assert set(LATER_TABLES) <= _tables(registry)
    assert [w.name for w in WorkspaceStore(root).all()] == ["old-ws"]


def test_a_root_of_a_newer_release_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "root"
    EmulatorRoot(path)
    registry = path / "registry.sqlite3"
    with sqlite3.connect(registry) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")

    with pytest.raises(InvalidSetting) as refused:
        EmulatorRoot(path)

    message = str(refused.value)
    assert f"{registry} was written by a newer azureml-emulator" in message
    assert f"format {SCHEMA_VERSION + 1}" in message
    assert f"reads formats up to {SCHEMA_VERSION}" in message
    assert "pip install -U azureml-emulator" in message and "--root DIR" in message
    assert _format(registry) == SCHEMA_VERSION + 1  # not overwritten


@pytest.mark.slow
def test_amlemu_up_refuses_a_newer_root_with_the_fix(daemon_root: DaemonRoot) -> None:
    WorkspaceStore(EmulatorRoot(daemon_root.path)).create("sub", "rg", "ws")
    endpoints = daemon_root.path / "endpoints" / "endpoints.sqlite3"
    endpoints.parent.mkdir()
    with sqlite3.connect(endpoints) as conn:  # an SDK v2 store written by a later release
        conn.execute("PRAGMA user_version = 99")

    up = daemon_root.amlemu("up", "--detach")

    assert up.returncode == 1
    assert up.stderr.startswith("amlemu: error: The emulator daemon exited with code 1")
    assert f"amlemu: error: {endpoints} was written by a newer" in up.stderr  # the log's tail
    assert "Upgrade azureml-emulator" in up.stderr
    assert "Traceback" not in up.stderr
    assert daemon_root.amlemu("status").returncode == 3  # nothing was started
