"""Time a cold and a cached build of one environment with the local (venv) builder.

Usage: ``python benchmarks/bench_local_build.py [PIP_PACKAGE ...]``; prints
``{"cold_s": ..., "cached_s": ...}``. Timings belong here rather than in tests, where machine
load would make them flaky.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from emulator import CondaDependencies, Environment
from emulator.images.builders.local import LocalBuilder
from emulator.images.buildlog import BuildLog
from emulator.images.context import ImageRequest, write_context
from emulator.store.root import EmulatorRoot


def _timed_build(
    builder: LocalBuilder, request: ImageRequest, root: EmulatorRoot, run: Path
) -> float:
    """Seconds to write a context and build it, as one image build does."""
    started = time.perf_counter()
    context = write_context(request, run / "context", root.blobs)
    builder.build(context, BuildLog(run / "build.log"), run / "image", "bench:1")
    return time.perf_counter() - started


def main(pip_packages: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="amlemu-bench-") as tmp:
        base = Path(tmp)
        script = base / "score.py"
        script.write_text("def init():\n    pass\n\n\ndef run(data):\n    return data\n")
        env = Environment("bench")
        env.python.conda_dependencies = CondaDependencies.create(
            pip_packages=["azureml-defaults", *pip_packages]
        )
        request = ImageRequest(entry_script=script, environment=env)
        root = EmulatorRoot(base / "root")
        builder = LocalBuilder(root)
        return {
            "cold_s": round(_timed_build(builder, request, root, base / "cold"), 3),
            "cached_s": round(_timed_build(builder, request, root, base / "cached"), 3),
        }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pip_packages", nargs="*", metavar="PIP_PACKAGE")
    print(json.dumps(main(parser.parse_args().pip_packages)))
