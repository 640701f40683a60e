"""Offline workspaces: creation, lookup, strict mode and config.json."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import pytest

from emulator import Workspace
from emulator.errors import UserErrorException, WorkspaceException


def test_constructor_creates_on_first_use_and_reuses(aml_root: Path, caplog) -> None:
    ws = Workspace("sub-1", "rg", "ws")
    assert "did not exist" in caplog.text
    again = Workspace("sub-1", "rg", "ws")
    assert ws == again
    assert (ws.name, ws.subscription_id, ws.resource_group, ws.location) == (
        "ws",
        "sub-1",
        "rg",
        "eastus",
    )


def test_strict_mode_raises_like_azure(aml_root: Path, monkeypatch) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_STRICT", "1")
    with pytest.raises(WorkspaceException) as err:
        Workspace.get("nope", subscription_id="s", resource_group="rg")
    assert err.value.found is False
    assert err.value.message.startswith("Workspace not found.")
    created = Workspace.create("yes", subscription_id="s", resource_group="rg", show_output=False)
    assert Workspace.get("yes", subscription_id="s", resource_group="rg") == created


def test_create_refuses_an_existing_workspace_unless_exist_ok(aml_root: Path, capsys) -> None:
    ws = Workspace.create("w", subscription_id="s", resource_group="rg", location="westeurope")
    assert "Deployed Workspace with name w." in capsys.readouterr().out
    with pytest.raises(UserErrorException, match="already exists"):
        Workspace.create("w", subscription_id="s", resource_group="rg")
    assert Workspace.create("w", subscription_id="s", resource_group="rg", exist_ok=True) == ws
    assert ws.location == "westeurope"


def test_get_by_name_alone(aml_root: Path) -> None:
    ws = Workspace.create("solo", subscription_id="s", resource_group="rg", show_output=False)
    assert Workspace.get("solo") == ws
    Workspace.create("solo", subscription_id="s2", resource_group="rg", show_output=False)
    with pytest.raises(UserErrorException, match="ambiguous"):
        Workspace.get("solo")


def test_from_config_walks_up_and_reads_both_formats(aml_root: Path, tmp_path: Path) -> None:
    ws = Workspace.create("cfg", subscription_id="s", resource_group="rg", show_output=False)
    written = ws.write_config(path=tmp_path)
    assert written == tmp_path / ".azureml" / "config.json"
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert Workspace.from_config(path=nested) == ws

    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "config.json").write_text(
        json.dumps({"subscription_id": "s", "resource_group": "rg", "workspace_name": "cfg"})
    )
    assert Workspace.from_config(path=flat) == ws
    assert Workspace.from_config(path=flat / "config.json") == ws


def test_from_config_errors(aml_root: Path, tmp_path: Path) -> None:
    with pytest.raises(UserErrorException, match="could not be found in"):
        Workspace.from_config(path=tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"subscription_id": "s"}))
    with pytest.raises(UserErrorException, match="does not seem to contain the required"):
        Workspace.from_config(path=tmp_path)


def test_roots_are_isolated(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_ROOT", str(tmp_path / "one"))
    Workspace.create("w", subscription_id="s", resource_group="rg", show_output=False)
    monkeypatch.setenv("AZUREML_EMULATOR_ROOT", str(tmp_path / "two"))
    monkeypatch.setenv("AZUREML_EMULATOR_STRICT", "1")
    with pytest.raises(WorkspaceException):
        Workspace("s", "rg", "w")


def test_a_workspace_pickles_and_deep_copies_as_the_sdks_does(aml_root: Path) -> None:
    """azureml-core's Workspace does both (a pool of processes, a copied fixture); the copy
    reads the same root."""
    ws = Workspace.create("w", subscription_id="s", resource_group="rg", show_output=False)
    for copied in (pickle.loads(pickle.dumps(ws)), copy.deepcopy(ws)):
        assert copied == ws
        assert Workspace.get("w", subscription_id="s", resource_group="rg") == copied
        assert copied.models == {} and copied.webservices == {}  # read through the copy
