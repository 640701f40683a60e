"""DockerBuilder against a real engine: build, label, run, and the three ways a build fails.

The README's test command prepares the engine and the base image with
``scripts/setup-docker.sh`` and passes ``--require-docker``, so there a missing engine is a
failure, not a skip; a bare ``pytest`` skips these tests when no engine answers.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import emulator
from emulator.images.builders.docker import IMAGE_LABEL, DockerBuilder, docker_available
from emulator.images.buildlog import BuildFailed, BuildLog
from emulator.images.context import BuildContext, ImageRequest, write_context
from emulator.images.dockerfile import APP_ROOT, BASE_IMAGE_ENV
from emulator.store.root import EmulatorRoot

pytestmark = pytest.mark.docker


@pytest.fixture
def engine(docker_engine: Any) -> Any:
    return docker_engine


@pytest.fixture
def tags(engine: Any) -> Iterator[list[str]]:
    """Unique tags for this test's images (xdist-safe), removed at teardown."""
    made: list[str] = []
    yield made
    for tag in made:
        with contextlib.suppress(Exception):  # never built (a failing test) or already gone
            engine.images.remove(tag, force=True)


def _new_tag(tags: list[str]) -> str:
    tag = f"amlemu-test-{uuid.uuid4().hex[:10]}:1"
    tags.append(tag)
    return tag


def _context(tmp_path: Path, pip: list[str], conda: list[str] | None = None) -> BuildContext:
    (tmp_path / "score.py").write_text(
        "def init():\n    pass\n\n\ndef run(data):\n    return data\n"
    )
    env = emulator.Environment("x")
    env.python.conda_dependencies = emulator.CondaDependencies.create(
        pip_packages=pip, conda_packages=conda
    )
    request = ImageRequest(entry_script=tmp_path / "score.py", environment=env)
    return write_context(request, tmp_path / "context", EmulatorRoot(tmp_path / "root").blobs)


def _build(tmp_path: Path, context: BuildContext, tag: str) -> tuple[str, str]:
    """Build; returns the location and the log text (also on failure, via the exception)."""
    log = BuildLog(tmp_path / "build.log")
    location = DockerBuilder().build(context, log, tmp_path / "image", tag)
    return location, log.path.read_text()


def test_build_tags_labels_and_runs(tmp_path: Path, engine: Any, tags: list[str]) -> None:
    context = _context(tmp_path, ["azureml-defaults"])
    tag = _new_tag(tags)

    location, log = _build(tmp_path, context, tag)

    assert location == tag
    assert "Step 1/" in log and "Done: Docker build" in log
    assert f"Docker image {tag}: sha256:" in log
    image = engine.images.get(tag)
    assert tag in image.tags
    assert image.labels.get(IMAGE_LABEL) == "1"
    script = (
        "from azureml.core.model import Model; import os; "
        "print(os.environ['AZUREML_MODEL_DIR']); "
        f"print(os.path.isfile('{APP_ROOT}/score.py'))"
    )
    out = engine.containers.run(
        tag, ["python", "-c", script], network_mode="host", remove=True
    ).decode()
    assert out.split() == [context.env_vars["AZUREML_MODEL_DIR"], "True"]
    assert context.env_vars["AZUREML_MODEL_DIR"].startswith(APP_ROOT)


def test_unresolvable_pin_fails_with_pip_output(
    tmp_path: Path, engine: Any, tags: list[str]
) -> None:
    context = _context(tmp_path, ["numpy==0.0.1"])
    tag = _new_tag(tags)

    with pytest.raises(BuildFailed) as failed:
        _build(tmp_path, context, tag)

    assert failed.value.step == "Docker build"
    message = failed.value.message
    assert "No matching distribution found for numpy==0.0.1" in message
    assert "Dockerfile step failed: Step " in message and "pip install" in message
    assert "returned a non-zero code" in message
    log = (tmp_path / "build.log").read_text()
    assert "FAILED step 'Docker build'" in log and "No matching distribution" in log
    import docker

    with pytest.raises(docker.errors.ImageNotFound):
        engine.images.get(tag)


def test_conda_only_package_fails_before_docker_runs(tmp_path: Path, engine: Any) -> None:
    context = _context(tmp_path, ["azureml-defaults"], conda=["cudatoolkit=11.3"])

    with pytest.raises(BuildFailed) as failed:
        _build(tmp_path, context, "amlemu-test-never-built:1")

    assert failed.value.step == "Resolve requirements"
    assert "cudatoolkit=11.3 is a conda-only package" in failed.value.message
    assert "Docker build" not in (tmp_path / "build.log").read_text()


def test_missing_base_image_points_at_setup_script(
    tmp_path: Path, engine: Any, tags: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BASE_IMAGE_ENV, "amlemu/does-not-exist:1")
    context = _context(tmp_path, ["azureml-defaults"])
    assert context.base_image == "amlemu/does-not-exist:1"

    with pytest.raises(BuildFailed) as failed:
        _build(tmp_path, context, _new_tag(tags))

    assert failed.value.step == "Check base image"
    assert "amlemu/does-not-exist:1" in failed.value.message
    assert "scripts/setup-docker.sh" in failed.value.message
    assert BASE_IMAGE_ENV in failed.value.message


def test_unreachable_engine_points_at_setup_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("docker")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    assert docker_available() is False
    context = _context(tmp_path, ["azureml-defaults"])

    with pytest.raises(BuildFailed) as failed:
        _build(tmp_path, context, "amlemu-test-unreachable:1")

    assert failed.value.step == "Connect to Docker engine"
    assert "Docker engine not reachable" in failed.value.message
    assert "scripts/setup-docker.sh" in failed.value.message
