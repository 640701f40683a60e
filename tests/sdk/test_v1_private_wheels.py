"""``Environment.add_private_pip_wheel`` through the shim: a wheel built here is stored in the
workspace's storage account under Azure's URL, an environment listing that URL gets it installed
at image build (from the build context, offline), and a service whose scoring script imports it
answers. A URL the root never stored, and the host builder (which installs nothing), fail
before any slow step, naming the fix."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path
from typing import Any

import pytest

from emulator import Workspace
from emulator.images.builders.local import LocalBuilder
from emulator.images.buildlog import BuildFailed, BuildLog
from emulator.images.context import ImageRequest, check_requirements, write_context
from emulator.store.root import EmulatorRoot

PACKAGE = "amlemu_private_greeter"
WHEEL = f"{PACKAGE}-0.3.1-py3-none-any.whl"
URL = (
    "https://testworkspacestorage.blob.core.windows.net/azureml/Environment/"
    f"azureml-private-packages/{WHEEL}"
)
SCORE = f"""\
import json

import {PACKAGE}


def init():
    pass


def run(raw_data):
    return {{"greeting": {PACKAGE}.greet(json.loads(raw_data)), "version": {PACKAGE}.__version__}}
"""


def build_wheel(folder: Path, greeting: str = "hello") -> Path:
    """A pure-Python wheel of one module, written by hand as the wheel format defines it."""
    dist_info = f"{PACKAGE}-0.3.1.dist-info"
    files = {
        f"{PACKAGE}.py": (
            f'__version__ = "0.3.1"\n\n\ndef greet(text):\n    return "{greeting} " + text\n'
        ).encode(),
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {PACKAGE.replace('_', '-')}\nVersion: 0.3.1\n"
        ).encode(),
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: amlemu-tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    files[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / WHEEL
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _environment(pip: list[str]) -> Any:
    from azureml.core import Environment
    from azureml.core.conda_dependencies import CondaDependencies

    env = Environment("private-env")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=pip)
    return env


def test_the_wheel_is_stored_once_under_azures_url(aml_workspace: Workspace, workdir: Path) -> None:
    from azureml.core import Environment
    from azureml.exceptions import UserErrorException

    wheel = build_wheel(workdir / "dist")
    assert Environment.add_private_pip_wheel(aml_workspace, str(wheel)) == URL
    with pytest.raises(UserErrorException, match=f"A wheel with the name {WHEEL} already exists"):
        Environment.add_private_pip_wheel(aml_workspace, str(wheel))
    changed = build_wheel(workdir / "other", greeting="changed")
    assert Environment.add_private_pip_wheel(aml_workspace, str(changed), exist_ok=True) == URL
    with pytest.raises(UserErrorException, match=r"make sure the wheel file exists at: nope\.whl"):
        Environment.add_private_pip_wheel(aml_workspace, "nope.whl")


@pytest.mark.parametrize("builder", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_a_service_whose_script_imports_the_private_wheel_answers(
    builder: str,
    aml_workspace: Workspace,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    from azureml.core import Environment, Model
    from azureml.core.model import InferenceConfig
    from azureml.core.webservice import AciWebservice

    if builder == "docker":
        request.getfixturevalue("docker_engine")  # skips, or fails under --require-docker
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", builder)
    url = Environment.add_private_pip_wheel(aml_workspace, str(build_wheel(workdir / "dist")))
    (workdir / "score.py").write_text(SCORE)
    (workdir / "model.pkl").write_bytes(b"weights")
    model = Model.register(aml_workspace, "model.pkl", "greeter-model")
    config = InferenceConfig(entry_script="score.py", environment=_environment([url]))
    service = Model.deploy(
        aml_workspace, "greeter", [model], config, AciWebservice.deploy_configuration()
    )
    service.wait_for_deployment()
    assert service.run('"world"') == {"greeting": "hello world", "version": "0.3.1"}
    (build_log,) = Path(aml_workspace.emulator_state.directory).rglob("build.log")
    assert (
        f"Private package amlemu-private-greeter===0.3.1: {url} (sha256 " in build_log.read_text()
    )


def test_urls_the_root_never_stored_and_the_host_builder_fail_with_the_fix(
    aml_workspace: Workspace, workdir: Path
) -> None:
    from azureml.core import Environment

    root = EmulatorRoot(Path(aml_workspace.emulator_state.root.path))
    (workdir / "score.py").write_text(SCORE)
    missing = URL.replace(WHEEL, "someone_else-1.0-py3-none-any.whl")
    request = ImageRequest(
        entry_script=workdir / "score.py",
        environment=_environment([missing, "https://example.com/pkg-1.0.tar.gz"]),
    )
    context = write_context(request, workdir / "ctx-missing", root.blobs)
    with pytest.raises(BuildFailed) as failure:
        check_requirements(context, BuildLog(workdir / "missing.log"))
    assert f"- {missing} names a private wheel that no workspace of this emulator root" in (
        failure.value.message
    )
    assert "- https://example.com/pkg-1.0.tar.gz is a URL, which the emulator cannot download" in (
        failure.value.message
    )

    url = Environment.add_private_pip_wheel(aml_workspace, str(build_wheel(workdir / "dist")))
    request = ImageRequest(entry_script=workdir / "score.py", environment=_environment([url]))
    context = write_context(request, workdir / "ctx", root.blobs)
    requirements = context.requirements_file.read_text()
    assert requirements.splitlines()[:2] == [
        "--find-links wheels",
        "amlemu-private-greeter===0.3.1",
    ]
    assert f"# amlemu-private-greeter===0.3.1: {url} (sha256 " in requirements
    assert (context.requirements_file.parent / "wheels" / WHEEL).read_bytes() == (
        workdir / "dist" / WHEEL
    ).read_bytes()
    assert "COPY environment/wheels/ /tmp/amlemu/wheels/" in context.dockerfile.read_text()
    with pytest.raises(BuildFailed) as host:
        LocalBuilder(root, "host").build(
            context, BuildLog(workdir / "host.log"), workdir / "i", "t"
        )
    assert "amlemu-private-greeter===0.3.1 required, not installed" in host.value.message
