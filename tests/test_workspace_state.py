"""The face-neutral way into a workspace's state: ``emulator.state.workspace_states``.

Azure Resource Manager treats resource group and resource names case-insensitively (a GET of
``.../resourceGroups/MyRG/.../workspaces/MyWS`` finds ``myrg``/``myws``), so the lookup does
too, and the names keep the case they were created with.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator import Model, Workspace
from emulator.errors import UserErrorException
from emulator.sdk.workspace import workspace_of
from emulator.state import WorkspaceState, workspace_states
from emulator.store.root import EmulatorRoot


def test_lookup_ignores_case_and_keeps_the_created_names(aml_root: Path) -> None:
    states = workspace_states()
    created, is_new = states.create("Sub-ABC", "My-RG", "MyWorkspace", location="westeurope")
    assert is_new
    found = states.get("sub-abc", "MY-rg", "myworkspace")
    assert found == created
    assert (found.record.subscription_id, found.record.resource_group, found.record.name) == (
        "Sub-ABC",
        "My-RG",
        "MyWorkspace",
    )
    again, is_new = states.create("SUB-abc", "my-rg", "MYWORKSPACE", location="eastus")
    assert (again, is_new) == (created, False)
    assert [s.record.name for s in states.matching("myWORKSPACE", "sub-abc", "MY-RG")] == [
        "MyWorkspace"
    ]
    assert states.get("sub-abc", "my-rg", "other") is None


def test_resource_group_names_compare_with_unicode_case_folding(aml_root: Path) -> None:
    # Resource group names may hold any Unicode letter; SQLite's NOCASE would fold ASCII only.
    states = workspace_states()
    created, _ = states.create("sub", "Ärger-Gruppe", "ws")
    assert states.get("SUB", "ärger-gruppe", "WS") == created


def test_a_root_holding_two_spellings_finds_the_first_created(aml_root: Path) -> None:
    # Roots written before lookups ignored case may hold "ws" and "WS" side by side.
    root = EmulatorRoot.current()
    with root.db.transaction() as conn:
        for name in ("ws", "WS"):
            conn.execute(
                "INSERT INTO workspaces (subscription_id, resource_group, name, location, sku,"
                " tags, created_time) VALUES ('s', 'rg', ?, 'eastus', 'basic', '{}', 'now')",
                (name,),
            )
    assert workspace_states(root).get("s", "rg", "Ws").record.name == "ws"  # type: ignore[union-attr]


def test_the_sdk_workspace_finds_its_workspace_in_any_case(aml_root: Path) -> None:
    ws = Workspace.create("Trained", subscription_id="S1", resource_group="RG", show_output=False)
    assert Workspace("s1", "rg", "TRAINED") == ws
    assert Workspace.get("trained", subscription_id="s1", resource_group="rg") == ws
    by_name_alone = Workspace.get("TRAINED")
    assert by_name_alone == ws
    assert (by_name_alone.name, by_name_alone.subscription_id, by_name_alone.resource_group) == (
        "Trained",
        "S1",
        "RG",
    )


def test_creating_a_workspace_whose_name_differs_only_in_case_is_refused(aml_root: Path) -> None:
    Workspace.create("scoring", subscription_id="s", resource_group="rg", show_output=False)
    with pytest.raises(UserErrorException, match="Workspace with name 'SCORING' already exists"):
        Workspace.create("SCORING", subscription_id="S", resource_group="RG", show_output=False)
    assert [s.record.name for s in workspace_states().all()] == ["scoring"]


def test_what_the_sdk_registers_is_seen_through_the_state(aml_root: Path, workdir: Path) -> None:
    (workdir / "model.pkl").write_bytes(b"weights")
    ws = Workspace.create("w", subscription_id="s", resource_group="rg", show_output=False)
    Model.register(ws, "model.pkl", "iris")
    state = workspace_states().get("s", "rg", "w")
    assert isinstance(state, WorkspaceState)
    assert state == ws.emulator_state
    assert [(r.name, r.version) for r in state.models.records()] == [("iris", 1)]
    assert (state.images.records(), state.services.records(), state.compute.records()) == (
        [],
        [],
        [],
    )
    assert workspace_states().by_id(state.id) == state
    assert workspace_of(state) == ws
    assert Model(workspace_of(state), "iris").version == 1


def test_states_belong_to_their_root(aml_root: Path, tmp_path: Path) -> None:
    here, _ = workspace_states().create("s", "rg", "w")
    elsewhere = EmulatorRoot(tmp_path / "other-root")
    assert workspace_states(elsewhere).get("s", "rg", "w") is None
    there, created = workspace_states(elsewhere).create("s", "rg", "w")
    assert created and there.root.path != here.root.path
    assert workspace_of(there) != workspace_of(here)
