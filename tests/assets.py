"""Where the deployment assets are, and loading a helper script from ``fixtures/`` by path.

A module of its own (not ``conftest``) so test files anywhere can import it unambiguously.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent
ASSETS = REPO / "fixtures"
EXAMPLES = REPO / "examples"


def load_asset_module(relative: str) -> ModuleType:
    """Import a helper script from ``fixtures/`` by path (it is not an installed package)."""
    path = ASSETS / relative
    spec = importlib.util.spec_from_file_location(f"amlemu_asset_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_example(example: str, workdir: Path, timeout: float = 300, **env: str) -> str:
    """``amlemu run examples/<example>`` in ``workdir`` with its own emulator root, the host
    builder and instant cluster provisioning unless ``env`` says otherwise; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "emulator", "run", str(EXAMPLES / example)],
        cwd=workdir,
        env={
            **os.environ,
            "AZUREML_EMULATOR_ROOT": str(workdir / "root"),
            "AZUREML_EMULATOR_BUILDER": "host",
            "AZUREML_EMULATOR_PROVISIONING_SECONDS": "0",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout
