"""``Environment.build``, ``build_local`` and ``get_image_details`` through the shim, as
deployment notebooks call them: the environment's image is built by the emulator's builder
(the host builder here: nothing to install, so the module's one build is cheap) and described in
Azure's shapes (``ImageBuildDetails``, the ``DockerImageDetails`` dict)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest

from emulator import mock_aml


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AZUREML_EMULATOR_BUILDER", "host")
        with mock_aml(root=tmp_path_factory.mktemp("envbuild") / "root", strict=False):
            from azureml.core import Workspace

            yield Workspace.get("ws", subscription_id="sub", resource_group="rg")


def _env(name: str, *pip: str) -> Any:
    from azureml.core import Environment
    from azureml.core.conda_dependencies import CondaDependencies

    env = Environment(name)
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=list(pip))
    return env


@pytest.fixture(scope="module")
def built(ws: Any) -> tuple[Any, Any]:
    """One environment, built once for the module: (its build details, the environment)."""
    env = _env("scoring-env", "azureml-defaults")
    return env.build(ws, image_build_compute="cpu-cluster"), env


def test_build_registers_the_environment_and_builds_its_image(
    ws: Any, built: tuple[Any, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from azureml.core import Environment
    from azureml.core.environment import ImageBuildDetails

    details, env = built
    assert isinstance(details, ImageBuildDetails)
    assert details.wait_for_completion(show_output=True) is details
    assert "Image Build Status: Succeeded" in capsys.readouterr().out
    assert details.status == "Succeeded"
    log = details.get_log()
    assert log is not None and "built:" in log
    assert Path(url2pathname(urlparse(details.log_url).path)).read_text() == log
    assert Environment.get(ws, "scoring-env").version == "1"
    assert ws.images == {}  # environment images are not model images (Azure: in the registry)
    # The same definition again: the image it already has, no second build.
    again = env.build(ws)
    assert again.log_url == details.log_url and again.status == "Succeeded"


def test_building_an_unregistered_environment_warns_and_registers_it(
    ws: Any, built: tuple[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    from azureml.core import Environment

    with caplog.at_level(logging.WARNING, logger="emulator.environment"):
        _env("another-env", "azureml-defaults").build(ws).wait_for_completion(show_output=False)
    assert "Building a non-registered environment is not supported" in caplog.text
    assert Environment.get(ws, "another-env").version == "1"


def test_get_image_details_describes_the_built_image(ws: Any, built: tuple[Any, Any]) -> None:
    from azureml.core import Environment
    from azureml.core.environment import DockerImageDetails

    built[0].wait_for_completion(show_output=False)
    details = Environment.get(ws, "scoring-env").get_image_details(ws)
    assert isinstance(details, DockerImageDetails) and isinstance(details, dict)
    assert details.image_exist is True and details["imageExistsInRegistry"] is True
    assert details.repository.startswith("azureml/azureml_") and details.registry is None
    assert details.image == details.repository
    assert Path(details.interpreter_path).exists()
    # The host builder runs this interpreter: its virtualenv, if it is in one, is the environment.
    in_venv = (Path(sys.prefix) / "pyvenv.cfg").exists()
    assert details.environment_path == (sys.prefix if in_venv else None)
    assert DockerImageDetails({"imageExistsInRegistry": False}).image_exist is False
    assert details.dockerfile is not None and "\nFROM " in details.dockerfile
    assert "azureml-defaults" in details["ingredients"]["condaSpecification"]
    # A registered version never built: its image does not exist yet.
    fresh = _env("never-built", "azureml-defaults", "inference-schema").register(ws)
    assert fresh.get_image_details(ws).image_exist is False


def test_build_local_streams_the_build_and_fails_clearly(
    ws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from azureml.exceptions import UserErrorException

    env = _env("local-env", "azureml-defaults").register(ws)
    assert env.build_local(ws, platform="Linux") is None
    out = capsys.readouterr().out
    assert "Building environment local-env version 1 locally" in out and "built:" in out
    assert env.get_image_details(ws).image_exist is True

    with pytest.raises(UserErrorException, match="Environment 'unsaved' is not registered"):
        _env("unsaved").build_local(ws)
    with pytest.raises(UserErrorException, match="Unsupported platform 'Amiga'"):
        env.build_local(ws, platform="Amiga")
    with pytest.raises(UserErrorException, match=r"Unknown build_local option.*useDocer"):
        env.build_local(ws, useDocer=True)
    broken = _env("broken-env", "azureml-not-a-package").register(ws)
    with pytest.raises(UserErrorException, match=r"Building environment failed: .*outside Azure"):
        broken.build_local(ws)
