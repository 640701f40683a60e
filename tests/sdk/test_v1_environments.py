"""SDK v1's environment registry through the shim, as deployment notebooks call it:
register/get/list/label, versions, ``ws.environments`` and Azure's curated environments."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator import mock_aml


@pytest.fixture
def sdk(tmp_path: Path) -> Iterator[Any]:
    """``azureml.core`` as users import it, on a fresh emulator root."""
    with mock_aml(root=tmp_path / "root", strict=False):
        import azureml.core

        yield azureml.core


@pytest.fixture
def ws(sdk: Any) -> Any:
    return sdk.Workspace.get("ws", subscription_id="sub", resource_group="rg")


def _env(sdk: Any, name: str, *pip: str) -> Any:
    from azureml.core.conda_dependencies import CondaDependencies

    env = sdk.Environment(name)
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=list(pip))
    return env


def test_register_numbers_versions_and_keeps_an_unchanged_definition(sdk: Any, ws: Any) -> None:
    from azureml.core import Environment

    first = _env(sdk, "scoring", "numpy").register(ws)
    assert (first.name, first.version) == ("scoring", "1")
    assert first.asset_id is not None and first.asset_id.endswith(
        "/environments/scoring/versions/1"
    )
    assert _env(sdk, "unregistered").asset_id is None
    again = _env(sdk, "scoring", "numpy").register(workspace=ws)
    assert again.version == "1"  # the same definition is not a new version
    changed = _env(sdk, "scoring", "numpy", "pandas").register(ws)
    assert changed.version == "2"
    latest = Environment.get(ws, "scoring")
    assert latest.version == "2"
    assert "pandas" in list(latest.python.conda_dependencies.pip_packages)
    old = Environment.get(workspace=ws, name="scoring", version="1")
    assert "pandas" not in list(old.python.conda_dependencies.pip_packages)


def test_the_whole_definition_round_trips(sdk: Any, ws: Any) -> None:
    env = _env(sdk, "custom", "scikit-learn==1.5.2")
    env.environment_variables = {"MODE": "fast"}
    env.docker.base_image = "mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu-inference"
    env.inferencing_stack_version = "latest"
    env.register(ws)
    got = sdk.Environment.get(ws, "custom")
    assert got.environment_variables == {"MODE": "fast"}
    assert got.docker.base_image == env.docker.base_image
    assert got.inferencing_stack_version == "latest"
    assert list(got.python.conda_dependencies.pip_packages) == list(
        env.python.conda_dependencies.pip_packages
    )


def test_an_explicit_version_is_used_and_immutable(sdk: Any, ws: Any) -> None:
    from azureml.exceptions import UserErrorException

    env = _env(sdk, "pinned", "numpy")
    env.version = "7"
    assert env.register(ws).version == "7"
    assert env.register(ws).version == "7"  # same definition again: fine
    other = _env(sdk, "pinned", "pandas")
    other.version = "7"
    with pytest.raises(UserErrorException, match=r"pinned:7 already exists"):
        other.register(ws)


def test_list_and_ws_environments_show_the_latest_and_the_curated(sdk: Any, ws: Any) -> None:
    _env(sdk, "a", "numpy").register(ws)
    _env(sdk, "a", "pandas").register(ws)
    listed = sdk.Environment.list(ws)
    assert listed["a"].version == "2"
    assert {"AzureML-Minimal", "AzureML-Tutorial"} <= set(listed)
    assert any(name.startswith("AzureML-sklearn-") for name in listed)
    assert set(ws.environments) == set(listed)


def test_curated_environments_are_read_only_entries(sdk: Any, ws: Any) -> None:
    from azureml.exceptions import UserErrorException

    minimal = sdk.Environment.get(ws, "AzureML-Minimal")
    assert minimal.python.conda_dependencies.get_python_version() == "3.6.2"
    assert any(
        p.startswith("azureml-defaults") for p in minimal.python.conda_dependencies.pip_packages
    )
    sklearn = sdk.Environment.get(ws, "AzureML-sklearn-0.24-ubuntu18.04-py37-cpu")
    assert "scikit-learn~=0.24.1" in list(sklearn.python.conda_dependencies.pip_packages)
    with pytest.raises(UserErrorException, match="reserved for curated environments"):
        minimal.register(ws)
    copy = minimal.clone("my-minimal")
    assert copy.register(ws).version == "1"


def test_unknown_names_versions_and_workspaces_are_clear_errors(sdk: Any, ws: Any) -> None:
    from azureml.exceptions import UserErrorException

    with pytest.raises(UserErrorException, match=r"Environment nothing is not registered"):
        sdk.Environment.get(ws, "nothing")
    _env(sdk, "one", "numpy").register(ws)
    with pytest.raises(UserErrorException, match=r"one version 9 is not registered"):
        sdk.Environment.get(ws, "one", version="9")
    with pytest.raises(UserErrorException, match=r"needs an azureml\.core\.Workspace"):
        sdk.Environment.get("ws", "one")
    with pytest.raises(UserErrorException, match="Only one of version or label"):
        sdk.Environment.get(ws, "one", version="1", label="prod")


def test_labels_move_between_versions(sdk: Any, ws: Any) -> None:
    from azureml.core import Environment

    _env(sdk, "lab", "numpy").register(ws)
    _env(sdk, "lab", "pandas").register(ws)
    Environment.label(ws, "lab", "1", ["prod"])
    assert Environment.get(ws, "lab", label="prod").version == "1"
    Environment.label(ws, "lab", "2", ["prod"])
    assert Environment.get(ws, "lab", label="prod").version == "2"
    assert Environment.get(ws, "lab").version == "2"


def test_another_root_sees_nothing(sdk: Any, ws: Any, tmp_path: Path) -> None:
    _env(sdk, "mine", "numpy").register(ws)
    with mock_aml(root=tmp_path / "other", strict=False):
        from azureml.core import Environment, Workspace

        other = Workspace.get("ws", subscription_id="sub", resource_group="rg")
        assert "mine" not in Environment.list(other)


def test_every_curated_environment_resolves_to_what_a_build_installs(sdk: Any, ws: Any) -> None:
    from emulator.environments.curated import CURATED
    from emulator.environments.requirements import resolve_requirements

    for entry in CURATED:
        resolved = resolve_requirements(sdk.Environment.get(ws, entry.name))
        assert resolved.unavailable == [], entry.name  # the build's first step passes
        assert all(line.startswith("azureml-") for line in entry.left_out)
    sklearn = next(e for e in CURATED if e.name == "AzureML-sklearn-1.0-ubuntu20.04-py38-cpu")
    assert sklearn.left_out == ("azureml-mlflow==1.48.0", "azureml-telemetry==1.48.0")
