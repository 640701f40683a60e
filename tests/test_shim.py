"""The azureml import shim: activation, precedence over a real SDK, clean deactivation."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import emulator
from emulator import mock_aml


def _azureml_modules() -> list[str]:
    return sorted(n for n in sys.modules if n == "azureml" or n.startswith("azureml."))


@pytest.fixture(autouse=True)
def _clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # emulator.activate() also serves SDK v2 from the current root: the test's own, not ~/.local
    monkeypatch.setenv("AZUREML_EMULATOR_ROOT", str(tmp_path / "root"))
    assert not emulator.is_active()
    yield
    while emulator.is_active():
        emulator.deactivate()


def test_sdk_module_paths_resolve_to_the_emulator() -> None:
    emulator.activate()
    try:
        import azureml.core
        from azureml.core import Environment, Model, Workspace
        from azureml.core.conda_dependencies import CondaDependencies
        from azureml.core.environment import Environment as Env2
        from azureml.core.model import Model as Model2
        from azureml.core.workspace import Workspace as Ws2
        from azureml.exceptions import WebserviceException

        assert Workspace is Ws2 is emulator.Workspace
        assert Model is Model2 is emulator.Model
        assert Environment is Env2 is emulator.Environment
        assert CondaDependencies is emulator.CondaDependencies
        assert WebserviceException is emulator.errors.WebserviceException
        assert azureml.core.VERSION == emulator._version.SDK_VERSION
    finally:
        emulator.deactivate()
    assert _azureml_modules() == []
    with pytest.raises(ImportError):
        import azureml.core


def test_unemulated_module_says_what_is_emulated() -> None:
    with mock_aml(), pytest.raises(ModuleNotFoundError, match="does not emulate it"):
        import azureml.pipeline.core  # noqa: F401


def test_compute_module_paths_resolve_to_the_emulator() -> None:
    with mock_aml():
        from azureml.core import ComputeTarget as CoreComputeTarget
        from azureml.core.compute import AksCompute, ComputeTarget
        from azureml.core.compute.aks import AksCompute as AksCompute2
        from azureml.core.compute.aks import AksProvisioningConfiguration
        from azureml.core.compute.compute import ComputeTarget as ComputeTarget2
        from azureml.core.compute_target import ComputeTargetException

        from emulator.sdk import compute, compute_config

        assert AksCompute is AksCompute2 is compute.AksCompute
        assert ComputeTarget is ComputeTarget2 is CoreComputeTarget is compute.ComputeTarget
        assert AksProvisioningConfiguration is compute_config.AksProvisioningConfiguration
        assert ComputeTargetException is emulator.errors.ComputeTargetException
    assert _azureml_modules() == []


def test_automl_imports_but_any_use_says_it_is_not_emulated() -> None:
    from emulator.sdk.automl import AutoMLNotEmulatedError

    with mock_aml():
        import azureml.train.automl as AutoML  # as the seed's scoring script does

        with pytest.raises(AutoMLNotEmulatedError, match="AutoML training is not emulated"):
            AutoML.AutoMLConfig  # noqa: B018
        with pytest.raises(AutoMLNotEmulatedError, match=r"azureml\.train\.automl\.AutoMLConfig"):
            from azureml.train.automl import AutoMLConfig  # noqa: F401
        assert not hasattr(AutoML, "__path__")  # protocol lookups stay ordinary misses
        assert isinstance(AutoMLNotEmulatedError("x"), NotImplementedError)


def test_image_python_tree_carries_compute_and_automl(tmp_path: Path) -> None:
    """Inside an image there is no shim: the generated azureml package must behave the same."""
    from emulator.images.compat import write_python_tree

    write_python_tree(tmp_path / "tree")
    script = textwrap.dedent(
        """
        import azureml.train.automl as AutoML
        from azureml.core.compute import AksCompute, ComputeTarget
        from emulator.sdk.automl import AutoMLNotEmulatedError
        assert AksCompute.ClusterPurpose.DEV_TEST == "DevTest"
        try:
            AutoML.AutoMLConfig
        except AutoMLNotEmulatedError as exc:
            print("refused:", exc)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "tree"), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    assert "refused: azureml.train.automl.AutoMLConfig is not available" in out.stdout


def test_writing_an_image_python_tree_imports_no_face(tmp_path: Path) -> None:
    """Image builds sit below the v1 faces: the tree's re-exports are generated from the shim's
    table and the faces' sources, never by importing the faces (a fresh interpreter shows it)."""
    script = textwrap.dedent(
        f"""
        import sys
        from emulator.images.compat import write_python_tree
        before = set(sys.modules)
        write_python_tree(__import__("pathlib").Path({str(tmp_path / "tree")!r}))
        print(sorted(n for n in set(sys.modules) - before if n.startswith("emulator.")))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    generated = (tmp_path / "tree" / "azureml" / "train" / "automl.py").read_text()
    assert "from emulator.sdk.automl import __getattr__" in generated  # lazy names passed on


def test_mock_aml_as_decorator_and_nested() -> None:
    @mock_aml()
    def uses_sdk() -> str:
        from azureml.core.model import Model

        return Model.__module__

    with mock_aml():
        assert uses_sdk() == "emulator.sdk.model"
        assert emulator.is_active()  # the inner exit did not tear down the outer activation
    assert not emulator.is_active()
    assert _azureml_modules() == []


def test_mock_aml_sets_and_restores_root_and_strict(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("AZUREML_EMULATOR_STRICT", raising=False)
    monkeypatch.setenv("AZUREML_EMULATOR_ROOT", str(tmp_path / "outer"))
    with mock_aml(root=tmp_path / "inner", strict=True):
        from azureml.core import Workspace
        from azureml.exceptions import WorkspaceException

        with pytest.raises(WorkspaceException, match="Workspace not found"):
            Workspace("s", "rg", "missing")
        ws = Workspace.create("made", subscription_id="s", resource_group="rg", show_output=False)
        assert ws.emulator_state.root.path == (tmp_path / "inner").resolve()
    import os

    assert os.environ["AZUREML_EMULATOR_ROOT"] == str(tmp_path / "outer")
    assert "AZUREML_EMULATOR_STRICT" not in os.environ


def test_shim_wins_over_an_installed_sdk_and_restores_it(tmp_path: Path) -> None:
    """A stand-in 'real' azureml package on sys.path: shadowed while active, back afterwards."""
    fake = tmp_path / "site" / "azureml" / "core"
    fake.mkdir(parents=True)
    (fake.parent / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("VERSION = 'real-sdk'\n")
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path / "site")!r})
        import azureml.core
        assert azureml.core.VERSION == "real-sdk"
        import emulator
        emulator.activate()
        import azureml.core as shimmed
        assert shimmed.VERSION == emulator._version.SDK_VERSION, shimmed.VERSION
        from azureml.core import Model
        assert Model is emulator.Model
        emulator.deactivate()
        import azureml.core as again
        assert again.VERSION == "real-sdk"
        assert again is azureml.core
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
