"""``Workspace.list``, ``get_details`` and ``get_mlflow_tracking_uri`` through the shim."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def test_workspace_list_details_and_mlflow_uri(aml_workspace: Any) -> None:
    from azureml.core import Workspace

    other = Workspace.create("members-other", subscription_id="sub-2", resource_group="rg-2")
    everything = Workspace.list(None)
    assert everything[aml_workspace.name] == [aml_workspace]
    assert everything["members-other"] == [other]
    assert list(Workspace.list("sub-2")) == ["members-other"]
    assert Workspace.list(aml_workspace.subscription_id, resource_group="rg-2") == {}

    details = aml_workspace.get_details()
    assert details["name"] == aml_workspace.name
    assert details["id"].endswith(f"/workspaces/{aml_workspace.name}")

    uri = aml_workspace.get_mlflow_tracking_uri()
    assert uri.startswith("file:") and Path(uri.removeprefix("file://")).is_dir()
