"""Microsoft's other SDK v1 deployment samples, as our own equivalents, run with ``amlemu run``.

Each runs in a subprocess, unchanged SDK code with the shim, on the host builder (the test
environment already has scikit-learn).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from assets import run_example

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.slow
def test_multi_model_service(tmp_path: Path) -> None:
    out = run_example("multi_model.py", tmp_path)
    assert 'ACI service creation operation finished, operation "Succeeded"' in out
    assert "ridge: [" in out and "lasso: [" in out


@pytest.mark.slow
def test_deploy_to_local_update_and_reload(tmp_path: Path) -> None:
    out = run_example("deploy_local.py", tmp_path)
    assert "Local webservice is running at http://localhost:" in out
    assert "before reload: [0, 2]" in out
    assert "after update: ['setosa', 'virginica']" in out
    assert "after reload: ['setosa', 'virginica'] state: running" in out
