"""The command line and the daemon import without the optional extras.

A user's image runs ``python -m emulator serve`` with only the image's environment and the
emulator's core dependencies: numpy and onnxruntime (the accel extra, which Triton deployments
use) may be missing there, so nothing on the command line's import path may need them.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from assets import REPO

_BLOCK_EXTRAS = textwrap.dedent(
    """
    import importlib, sys

    class BlockExtras:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"numpy", "onnxruntime", "onnx", "pandas", "sklearn"}:
                raise ImportError(f"{name} is not installed here")

    sys.meta_path.insert(0, BlockExtras())
    for module in sys.argv[1:]:
        importlib.import_module(module)
    """
)


def test_the_command_line_and_the_daemon_import_without_numpy_or_onnxruntime() -> None:
    modules = ["emulator.cli.main", "emulator.daemon.lifecycle", "emulator.arm.app"]
    done = subprocess.run(
        [sys.executable, "-c", _BLOCK_EXTRAS, *modules],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
