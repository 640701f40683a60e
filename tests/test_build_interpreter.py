"""``python=3.x`` in a conda spec: the image is built with that python when this machine has
it, else with the running one and a warning naming both versions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emulator import CondaDependencies, Environment
from emulator.images.builders.local import LocalBuilder, load_local_image
from emulator.images.buildlog import BuildLog
from emulator.images.context import ImageRequest, write_context
from emulator.images.interpreter import (
    Interpreter,
    choose_interpreter,
    emulator_supports,
    find_installed,
)
from emulator.store.root import EmulatorRoot

RUNNING = f"{sys.version_info[0]}.{sys.version_info[1]}"


def _choose(tmp_path: Path, python_version: str | None) -> tuple[Interpreter, str]:
    log = BuildLog(tmp_path / "build.log")
    chosen = choose_interpreter(python_version, shutil.which("uv"), log)
    return chosen, log.path.read_text()


def test_the_running_python_needs_no_search_and_no_warning(tmp_path: Path) -> None:
    for asked in (RUNNING, f"{RUNNING}.0", None, "latest"):
        chosen, log = _choose(tmp_path, asked)
        assert chosen.path == Path(sys.executable).absolute()
        assert log == ""


def test_a_python_this_machine_lacks_is_a_warning_naming_both_versions(tmp_path: Path) -> None:
    chosen, log = _choose(tmp_path, "3.99.1")
    assert chosen.version == sys.version_info[:2]
    assert (
        "WARNING: the environment asks for python 3.99.1; no python 3.99 was found on this "
        "machine (`uv python find 3.99`, `python3.99` on PATH); install one (e.g. `uv python "
        "install 3.99`"
    ) in log
    assert f"The image runs on this machine's python {RUNNING} ({sys.executable})" in log


def test_a_python_the_server_cannot_run_on_is_not_searched_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin" / "python3.9"  # installed or not, it cannot run the image
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 3.9\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    assert not emulator_supports((3, 9))
    chosen, log = _choose(tmp_path, "3.9")
    assert chosen.version == sys.version_info[:2]
    assert (
        "WARNING: the environment asks for python 3.9; the emulator's scoring server (in every "
        "image) needs python >=3.10. The image runs on this machine's python"
    ) in log
    assert "install one" not in log


def _other_python(monkeypatch: pytest.MonkeyPatch) -> tuple[int, int] | None:
    """A python other than this one that the emulator supports, put on PATH when pyenv has
    one that is not (pyenv's shims only run the selected version)."""
    uv = shutil.which("uv")
    for minor in range(10, 15):
        version = (3, minor)
        if version == sys.version_info[:2]:
            continue
        if find_installed(version, uv) is not None:
            return version
        for candidate in sorted(Path.home().glob(f".pyenv/versions/3.{minor}.*/bin")):
            monkeypatch.setenv("PATH", f"{candidate}{os.pathsep}{os.environ['PATH']}")
            if find_installed(version, uv) is not None:
                return version
    return None


@pytest.mark.slow
def test_the_environments_python_builds_the_image_when_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = _other_python(monkeypatch)
    if version is None:
        pytest.skip("no other python (3.10+) is installed on this machine")
    label = f"{version[0]}.{version[1]}"
    script = tmp_path / "score.py"
    script.write_text("def init():\n    pass\n\n\ndef run(data):\n    return data\n")
    env = Environment("other-python")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=["azureml-defaults"], python_version=label
    )
    root = EmulatorRoot(tmp_path / "root")
    context = write_context(
        ImageRequest(entry_script=script, environment=env), tmp_path / "c", root.blobs
    )
    log = BuildLog(tmp_path / "build.log")
    image = load_local_image(LocalBuilder(root).build(context, log, tmp_path / "image", "i:1"))
    text = log.path.read_text()
    assert f"Building with python {label} (" in text
    assert "WARNING" not in text
    probe = "import sys, emulator, azureml.core.model; print('%d.%d' % sys.version_info[:2])"
    ran = subprocess.run([str(image.python), "-c", probe], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == label
