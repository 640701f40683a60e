"""The seed document's packaging cell, run unchanged with ``amlemu run``, with both real builders.

These install the seed environment (numpy, scikit-learn) from PyPI into a virtualenv or an
image, so they are marked slow; the Docker one also needs the engine.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from assets import run_example

from emulator.images.builders.local import load_local_image

REPO = Path(__file__).resolve().parent.parent


def _run_seed_cell(workdir: Path, iris_pickle: Path, builder: str) -> tuple[str, Path]:
    shutil.copy(iris_pickle, workdir / "model.pkl")
    seed_script = REPO / "fixtures" / "scoring" / "scoring_service_seed.py"
    shutil.copy(seed_script, workdir / "scoring_service.py")
    out = run_example("seed_packaging.py", workdir, timeout=900, AZUREML_EMULATOR_BUILDER=builder)
    log_uri = next(line for line in out.splitlines() if line.startswith("file://"))
    return out, Path(urlparse(log_uri).path)


def _assert_seed_cell_output(out: str, log: Path) -> None:
    assert "Creating conda dependencies file locally..." in out
    assert "Creating container image configuration..." in out
    assert "Creating image" in out
    assert 'operation "Succeeded"' in out
    assert "nyc-taxi-automl-image 1 file://" in out
    text = log.read_text()
    assert "Provided by the emulator (not installed): azureml-sdk[automl]" in text
    assert "Requirements: numpy, scikit-learn" in text
    assert "Image nyc-taxi-automl-image:1 built" in text


@pytest.mark.slow
def test_seed_packaging_cell_with_the_local_builder(workdir: Path, iris_pickle: Path) -> None:
    out, log = _run_seed_cell(workdir, iris_pickle, "local")
    _assert_seed_cell_output(out, log)
    # The venv really holds the seed's packages, next to the emulator's azureml modules.
    python = load_local_image(log.parent / "image").python
    check = subprocess.run(
        [python, "-c", "import sklearn, numpy, azureml.core.model; print('ok')"],
        capture_output=True,
        text=True,
    )
    assert check.stdout.strip() == "ok", check.stderr


@pytest.mark.slow
@pytest.mark.docker
def test_seed_packaging_cell_with_the_docker_builder(
    workdir: Path, iris_pickle: Path, docker_engine: Any
) -> None:
    out, log = _run_seed_cell(workdir, iris_pickle, "docker")
    _assert_seed_cell_output(out, log)
    tag = "nyc-taxi-automl-image:1"
    try:
        result = docker_engine.containers.run(
            tag,
            ["python", "-c", "import sklearn, numpy, azureml.core.model; print('ok')"],
            network_mode="host",
            remove=True,
        )
        assert result.decode().strip() == "ok"
    finally:
        docker_engine.images.remove(tag, force=True)
