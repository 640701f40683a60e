"""The offline end-to-end demo behind ``amlemu demo``: the seed notebook, start to finish.

It runs ``examples/seed_walkthrough.py`` (the notebook's cells, unchanged but for a local model
file) with the ``azureml`` shim active, in a temporary directory with its own emulator root:
register a model, build its image, deploy it to ACI and to an AKS cluster, and score both over
HTTP. The example ships with the source tree, which the README's editable install provides.
"""

from __future__ import annotations

import os
import runpy
import shutil
import sys
import tempfile
import time
from pathlib import Path

import emulator
from emulator.activation import mock_aml

WALKTHROUGH = Path(emulator.__file__).resolve().parent.parent / "examples" / "seed_walkthrough.py"
_NEEDED = ("sklearn", "joblib", "numpy", "requests")


def run_demo(keep: bool = False) -> int:
    if not WALKTHROUGH.is_file():
        print(
            f"The demo runs {WALKTHROUGH.name} from the source tree, which this installation "
            "lacks. Install from a clone: pip install -e '.[demo]'"
        )
        return 1
    missing = [name for name in _NEEDED if _absent(name)]
    if missing:
        print(f"The demo needs {', '.join(missing)}. Install them with: pip install -e '.[demo]'")
        return 1
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="amlemu-demo-"))
    previous_cwd, previous_argv = os.getcwd(), sys.argv
    try:
        os.chdir(workdir)
        sys.argv = [str(WALKTHROUGH)]
        print(f"azureml-emulator demo: the seed notebook, offline, in {workdir}\n")
        with mock_aml(root=workdir / "emulator-root"):
            runpy.run_path(str(WALKTHROUGH), run_name="__main__")
        from emulator.services.hosting import HOST

        HOST.shutdown()
        print(
            f"\nDone in {time.perf_counter() - started:.1f}s: registered, built, deployed to "
            "ACI and AKS and scored over HTTP, without Azure."
        )
    finally:
        os.chdir(previous_cwd)
        sys.argv = previous_argv
        if keep:
            print(f"Demo files kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _absent(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is None
