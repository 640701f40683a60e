"""The local builder: cached virtualenvs, host checks, and images the runtime can start."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from emulator import CondaDependencies, Environment
from emulator.images.builders.local import LocalBuilder, LocalImage, load_local_image
from emulator.images.buildlog import BuildFailed, BuildLog
from emulator.images.context import BuildContext, ImageRequest, write_context
from emulator.store.root import EmulatorRoot

PROBE = """\
import json, os
import azureml.core.model
from azureml.core.model import Model
import emulator
print(json.dumps({"emulator": emulator.__file__, "model_dir": os.environ["AZUREML_MODEL_DIR"]}))
"""


def _context(
    tmp_path: Path,
    root: EmulatorRoot,
    pip: list[str],
    conda: list[str] | None = None,
    python_version: str = f"{sys.version_info[0]}.{sys.version_info[1]}",
    name: str = "ctx",
) -> BuildContext:
    """A written build context for an environment with these packages."""
    script = tmp_path / "score.py"
    script.write_text("def init():\n    pass\n\n\ndef run(data):\n    return data\n")
    env = Environment("local-builder-test")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=pip, conda_packages=conda, python_version=python_version
    )
    request = ImageRequest(entry_script=script, environment=env)
    return write_context(request, tmp_path / name, root.blobs)


def _build(builder: LocalBuilder, context: BuildContext, image_dir: Path) -> tuple[LocalImage, str]:
    """Build into ``image_dir``; returns the image and the log text."""
    log = BuildLog(image_dir.parent / f"{image_dir.name}.log")
    location = builder.build(context, log, image_dir, "img:1")
    assert Path(location) == image_dir.absolute()
    return load_local_image(location), log.path.read_text()


def _failure(builder: LocalBuilder, context: BuildContext, image_dir: Path) -> tuple[str, str]:
    """Build expecting failure; returns the failure message and the log text."""
    log = BuildLog(image_dir.parent / f"{image_dir.name}.log")
    with pytest.raises(BuildFailed) as failure:
        builder.build(context, log, image_dir, "img:1")
    return failure.value.message, log.path.read_text()


def _run(image: LocalImage, code: str) -> str:
    """Run ``code`` with the image's interpreter and environment, as the runtime will."""
    env = {**os.environ, **image.env, "PYTHONPATH": os.pathsep.join(map(str, image.python_path))}
    result = subprocess.run(
        [str(image.python), "-c", code],
        env=env,
        cwd=image.app_root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def root(tmp_path: Path) -> EmulatorRoot:
    return EmulatorRoot(tmp_path / "root")


@pytest.fixture(scope="module")
def defaults_build(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[EmulatorRoot, Path, LocalImage, str]:
    """One venv image of an ``azureml-defaults``-only environment, shared by the module."""
    tmp_path = tmp_path_factory.mktemp("defaults")
    root = EmulatorRoot(tmp_path / "root")
    context = _context(tmp_path, root, ["azureml-defaults"])
    image, log = _build(LocalBuilder(root), context, tmp_path / "image")
    return root, tmp_path, image, log


def test_venv_image_runs_the_emulators_azureml_modules(
    defaults_build: tuple[EmulatorRoot, Path, LocalImage, str],
) -> None:
    root, _, image, log = defaults_build
    assert "Provided by the emulator (not installed): azureml-defaults" in log
    assert "Nothing to install" in log
    assert image.python.is_relative_to(root.path / "envs")
    assert image.python_path == ()
    assert (image.app_root / "score.py").is_file()
    assert image.env["AML_APP_ROOT"] == str(image.app_root)
    assert image.env["AZUREML_MODEL_DIR"] == str(image.app_root / "azureml-models")
    assert image.env["AZUREML_ENTRY_SCRIPT"] == "score.py"

    probe = json.loads(_run(image, PROBE))
    venv_dir = image.python.parent.parent
    assert Path(probe["emulator"]).is_relative_to(venv_dir / "amlemu-python")
    assert probe["model_dir"] == str(image.app_root / "azureml-models")
    assert not list((root.path / "envs").glob(".*")), "the staging directory was left behind"


def test_an_azureml_defaults_venv_carries_inference_schema_but_not_numpy(
    defaults_build: tuple[EmulatorRoot, Path, LocalImage, str],
) -> None:
    # As in Azure: azureml-defaults -> azureml-inference-server-http -> inference-schema, whose
    # numpy support is an extra the environment must ask for.
    _, _, image, _ = defaults_build
    modules = ("inference_schema", "numpy")
    probe = f"import importlib.util as u; print(*(bool(u.find_spec(m)) for m in {modules}))"
    assert _run(image, probe).split() == ["True", "False"]


def test_unchanged_environment_reuses_the_cached_venv(
    defaults_build: tuple[EmulatorRoot, Path, LocalImage, str],
) -> None:
    root, tmp_path, first, _ = defaults_build
    context = _context(tmp_path, root, ["azureml-defaults"], name="ctx-again")
    second, log = _build(LocalBuilder(root), context, tmp_path / "image-again")
    assert "Using cached environment" in log
    assert "Install requirements" not in log
    assert second.python == first.python
    assert second.app_root != first.app_root


@pytest.mark.slow
def test_unknown_version_fails_with_the_nearest_versions_on_pypi(
    tmp_path: Path, root: EmulatorRoot
) -> None:
    """The one test of pin diagnosis against the real PyPI (the others use a local index)."""
    context = _context(tmp_path, root, ["numpy==0.0.1"])
    message, log = _failure(LocalBuilder(root), context, tmp_path / "image")
    pip_error = "No matching distribution found for numpy==0.0.1"
    uv_error = "there is no version of numpy==0.0.1"
    assert pip_error in message or uv_error in message
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert f"These pins have no build (wheel) for python {python}" in message
    # The oldest numpy with a wheel for this python, and nothing below 0.0.1.
    assert re.search(r"numpy==0\.0\.1: nearest versions with a build: [\d.]+ \(above\)\n", message)
    failed = log.rindex("FAILED step 'Install requirements'")
    assert "Step: " not in log[failed:]
    assert list((root.path / "envs").iterdir()) == [], "a failed build left files in the cache"


def test_conda_only_package_fails_before_installing(tmp_path: Path, root: EmulatorRoot) -> None:
    context = _context(tmp_path, root, ["six"], conda=["cudatoolkit=11.3"])
    message, log = _failure(LocalBuilder(root), context, tmp_path / "image")
    assert "cudatoolkit=11.3 is a conda-only package" in message
    assert "FAILED step 'Resolve requirements'" in log
    assert "Create virtual environment" not in log
    assert not (root.path / "envs").exists()


def test_azure_only_package_fails(tmp_path: Path, root: EmulatorRoot) -> None:
    context = _context(tmp_path, root, ["azureml-train-automl-runtime"])
    message, _ = _failure(LocalBuilder(root), context, tmp_path / "image")
    assert "azureml-train-automl-runtime" in message
    assert "exists only inside Azure ML" in message


def test_host_mode_runs_on_this_interpreter(tmp_path: Path, root: EmulatorRoot) -> None:
    context = _context(tmp_path, root, ["pyyaml"], python_version="2.7")
    image, log = _build(LocalBuilder(root, mode="host"), context, tmp_path / "image")
    assert "WARNING: the environment asks for python 2.7" in log
    assert "Done: Check host interpreter" in log
    assert image.python == Path(sys.executable).absolute()
    assert image.python_path == (tmp_path.absolute() / "image" / "python",)
    assert not (root.path / "envs").exists()

    probe = json.loads(_run(image, PROBE))
    assert Path(probe["emulator"]).is_relative_to(image.python_path[0])


def test_host_mode_lists_every_unmet_requirement(tmp_path: Path, root: EmulatorRoot) -> None:
    context = _context(tmp_path, root, ["pyyaml==0.0.1", "amlemu-not-a-package>=1"])
    message, _ = _failure(LocalBuilder(root, mode="host"), context, tmp_path / "image")
    assert "pyyaml==0.0.1 required, 6." in message
    assert "amlemu-not-a-package>=1 required, not installed" in message
    assert "AZUREML_EMULATOR_BUILDER=local" in message


def test_host_mode_checks_the_extras_a_line_asks_for(tmp_path: Path, root: EmulatorRoot) -> None:
    """``inference-schema[numpy-support]`` needs numpy (a test dependency, so present here);
    ``[pyspark-support]`` needs pyspark, which nothing here installs: the line is unmet."""
    if importlib.util.find_spec("pyspark") is not None:
        pytest.skip("pyspark is installed here, so no extra of inference-schema is missing")
    lines = ["inference-schema[numpy-support]", "inference-schema[numpy-support,pyspark-support]"]
    context = _context(tmp_path, root, lines)
    message, _ = _failure(LocalBuilder(root, mode="host"), context, tmp_path / "image")
    assert (
        "inference-schema[numpy-support,pyspark-support] required: its extra 'pyspark-support' "
        "needs pyspark>=2.3.2, not installed" in message
    )
    assert "numpy" not in message.replace("[numpy-support,", "")

    satisfied = _context(tmp_path, root, lines[:1], name="numpy-only")
    _build(LocalBuilder(root, mode="host"), satisfied, tmp_path / "image-numpy")


@pytest.mark.slow
def test_venv_installs_packages_from_pypi(tmp_path: Path, root: EmulatorRoot) -> None:
    context = _context(tmp_path, root, ["six"])
    image, _ = _build(LocalBuilder(root), context, tmp_path / "image")
    six_file = Path(_run(image, "import six; print(six.__file__)").strip())
    assert six_file.is_relative_to(image.python.parent.parent)


@pytest.mark.slow
def test_concurrent_builds_share_one_venv(tmp_path: Path, root: EmulatorRoot) -> None:
    builder = LocalBuilder(root)
    contexts = [_context(tmp_path, root, ["azureml-defaults"], name=f"ctx{i}") for i in (0, 1)]
    with ThreadPoolExecutor(2) as pool:
        builds = pool.map(lambda i: _build(builder, contexts[i], tmp_path / f"image{i}"), (0, 1))
        pythons = {image.python for image, _ in builds}
    assert len(pythons) == 1
    venv_dir = pythons.pop().parent.parent
    assert [entry.name for entry in (root.path / "envs").iterdir()] == [venv_dir.name]
    assert str(venv_dir) in (venv_dir / "bin" / "activate").read_text(), "scripts not relocated"
