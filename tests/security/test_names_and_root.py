"""Names that could climb out of the emulator root are refused; a new root is owner-only."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

import emulator
from emulator import ContainerImage, Image, InferenceConfig, Model, Webservice, Workspace
from emulator.errors import WebserviceException
from emulator.exceptions import BadArgument
from emulator.images.registry import ImageRegistry
from emulator.models.registry import ModelRegistry

ESCAPES = ["../escape", "../../etc", "/etc/passwd", "a/../../b", "nul\0byte", "..", "svc\n"]


def test_a_new_root_is_readable_by_its_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "fresh" / "root"
    monkeypatch.setenv("AZUREML_EMULATOR_ROOT", str(root))
    with emulator.mock_aml():
        Workspace.create("ws", subscription_id="sub", resource_group="rg")
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


@pytest.mark.parametrize("name", ESCAPES)
def test_model_names_that_escape_are_refused(
    aml_workspace: Workspace, workdir: Path, name: str
) -> None:
    (workdir / "model.pkl").write_bytes(b"weights")
    with pytest.raises(WebserviceException, match="provided model name is invalid"):
        Model.register(aml_workspace, "model.pkl", name)
    registry = ModelRegistry(aml_workspace.emulator_state.root, aml_workspace.emulator_state.id)
    with pytest.raises(BadArgument, match="provided model name is invalid"):
        registry.register(workdir / "model.pkl", name)  # the state layer checks too


@pytest.mark.parametrize("name", ESCAPES)
def test_image_names_that_escape_are_refused(
    aml_workspace: Workspace, workdir: Path, name: str
) -> None:
    (workdir / "score.py").write_text("def init():\n    pass\n\ndef run(data):\n    return data\n")
    config = ContainerImage.image_configuration("score.py", "python")
    with pytest.raises(WebserviceException, match="provided image name is invalid"):
        Image.create(aml_workspace, name, [], config)
    with pytest.raises(WebserviceException, match="provided image name is invalid"):
        Model.package(aml_workspace, [], InferenceConfig(entry_script="score.py"), image_name=name)
    registry: ImageRegistry = aml_workspace.emulator_state.images
    with pytest.raises(BadArgument, match="provided image name is invalid"):
        registry.create(name, builder="host")
    assert not any(p.name == "etc" for p in Path(aml_workspace.emulator_state.root.path).rglob("*"))


@pytest.mark.parametrize("name", ESCAPES)
def test_service_names_that_escape_are_refused(aml_workspace: Workspace, name: str) -> None:
    with pytest.raises(WebserviceException, match="provided service name is invalid"):
        Webservice.deploy_from_image(aml_workspace, name, image=None)
    with pytest.raises(WebserviceException, match="provided service name is invalid"):
        Model.deploy(aml_workspace, name, [])


def test_the_cli_refuses_escaping_names_cleanly(aml_workspace: Workspace, aml_root: Path) -> None:
    for args in (
        ["models", "show", "../../etc/passwd"],
        ["faults", "inject", "../x", "drop"],
        ["faults", "clear", "../x"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "emulator", "--root", str(aml_root), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1, (args, done.stderr)
        assert "Traceback" not in done.stderr and done.stderr.startswith("amlemu: error:")
    assert not (aml_root.parent / "x.json").exists()
