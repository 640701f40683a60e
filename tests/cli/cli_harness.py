"""Helpers of the CLI tests: running ``amlemu`` in a subprocess, building images, registering
the model the seed's recipe looks for, and the shared world the inspection tests read."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from emulator import ComputeTarget, ContainerImage, Image, Model, Webservice, Workspace

HERE = Path(__file__).resolve().parent
MODEL_NAME = "my-best-model"


def amlemu(root: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m emulator ARGS`` in a new process on ``root`` (cwd: the root, no config.json)."""
    env = {**os.environ, "AZUREML_EMULATOR_ROOT": str(root)}
    return subprocess.run(
        [sys.executable, "-m", "emulator", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def build_image(ws: Workspace, workdir: Path, script: str, name: str) -> Image:
    """An image of ``tests/cli/<script>`` with the registered model, built and waited for."""
    shutil.copy(HERE / script, workdir / script)
    image = Image.create(
        ws, name, [Model(ws, name=MODEL_NAME)], ContainerImage.image_configuration(script, "python")
    )
    image.wait_for_creation()
    return image


def register_model(ws: Workspace, workdir: Path) -> Model:
    (workdir / "model.pkl").write_bytes(b"weights")
    return Model.register(
        ws, "model.pkl", MODEL_NAME, tags={"area": "seed"}, properties={"stage": "test"}
    )


@dataclass(frozen=True)
class World:
    root: Path
    workspace: Workspace
    model: Model
    image: Image
    failed_image: Image
    failed_compute: ComputeTarget
    cluster: ComputeTarget
    service: Webservice
    aks_service: Webservice
