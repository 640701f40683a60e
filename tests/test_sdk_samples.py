"""Microsoft's other SDK v1 deployment samples, as our own equivalents, run with ``amlemu run``.

Each runs in a subprocess, unchanged SDK code with the shim, on the host builder (the test
environment already has scikit-learn).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(example: str, workdir: Path) -> str:
    env = {
        **os.environ,
        "AZUREML_EMULATOR_ROOT": str(workdir / "root"),
        "AZUREML_EMULATOR_BUILDER": "host",
    }
    done = subprocess.run(
        [sys.executable, "-m", "emulator", "run", str(EXAMPLES / example)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_multi_model_service(tmp_path: Path) -> None:
    out = _run("multi_model.py", tmp_path)
    assert 'ACI service creation operation finished, operation "Succeeded"' in out
    assert "ridge: [" in out and "lasso: [" in out


@pytest.mark.slow
def test_deploy_to_local_update_and_reload(tmp_path: Path) -> None:
    out = _run("deploy_local.py", tmp_path)
    assert "Local webservice is running at http://localhost:" in out
    assert "before reload: [0, 2]" in out
    assert "after update: ['setosa', 'virginica']" in out
    assert "after reload: ['setosa', 'virginica'] state: running" in out
