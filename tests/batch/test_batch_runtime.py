"""Batch workers run in the deployment's image: its interpreter, its python tree, its
variables; an image this engine cannot run is refused naming the fix."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from emulator import CondaDependencies, Environment
from emulator.batch.runtime import WorkerRuntime
from emulator.exceptions import BadArgument
from emulator.images.builders.local import LocalBuilder
from emulator.images.buildlog import BuildLog
from emulator.images.context import ImageRequest, write_context
from emulator.images.records import CreationState, ImageRecord
from emulator.store.root import EmulatorRoot
from tests.batch.conftest import RunJob


def _host_image(tmp_path: Path) -> Path:
    """A local image built in ``host`` mode (this interpreter, the image's own python tree)."""
    root = EmulatorRoot(tmp_path / "root")
    script = tmp_path / "image-score.py"
    script.write_text("def init():\n    pass\n\n\ndef run(data):\n    return data\n")
    environment = Environment("batch-image")
    environment.python.conda_dependencies = CondaDependencies.create(
        python_version=f"{sys.version_info[0]}.{sys.version_info[1]}"
    )
    environment.environment_variables = {"IMAGE_VARIABLE": "from the image"}
    context = write_context(
        ImageRequest(entry_script=script, environment=environment), tmp_path / "ctx", root.blobs
    )
    image_dir = tmp_path / "image"
    LocalBuilder(root, mode="host").build(
        context, BuildLog(tmp_path / "build.log"), image_dir, "b:1"
    )
    return image_dir


def test_workers_run_in_the_images_python_tree_with_its_variables(
    run_job: RunJob, tmp_path: Path
) -> None:
    runtime = WorkerRuntime.from_directory(_host_image(tmp_path))
    source = """
        import os, sys

        def init():
            pass

        def run(mini_batch):
            worker = sys.modules["__main__"].__file__
            return [os.environ["IMAGE_VARIABLE"], worker]
    """
    job = run_job(source, runtime=runtime)
    assert job.status == "Completed", job.lines()
    assert job.output_file is not None
    variable, worker = job.output_file.read_text().splitlines()
    assert variable == "from the image"
    assert Path(worker).is_relative_to(tmp_path / "image")  # the image's copy of the emulator


def _record(builder: str, location: str | None) -> ImageRecord:
    return ImageRecord(
        id=1,
        workspace_id=1,
        name="batch",
        version=1,
        state=CreationState.SUCCEEDED,
        builder=builder,
        flavor="",
        description=None,
        tags={},
        properties={},
        model_ids=(),
        entry_script="score.py",
        environment_key=None,
        location=location,
        directory="",
        error=None,
        owner_pid=None,
        created_time="",
        updated_time="",
    )


def test_a_docker_built_image_is_refused_naming_the_builder_to_use() -> None:
    with pytest.raises(BadArgument, match="AZUREML_EMULATOR_BUILDER"):
        WorkerRuntime.from_image(_record("docker", "sha256:abc"))


def test_an_image_without_a_built_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadArgument, match="no built directory"):
        WorkerRuntime.from_image(_record("local", str(tmp_path / "missing")))
