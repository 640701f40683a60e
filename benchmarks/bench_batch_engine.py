"""The batch engine against calling ``run()`` directly, with a ``run()`` costing 10 ms per file.

Usage: ``python benchmarks/bench_batch_engine.py [--quick]``; prints one JSON document:

* ``overhead``: one worker, ``mini_batches`` mini-batches of 10 files. ``run()`` records when
  each call starts and ends; the engine's cost per mini-batch is the time between one call's
  end and the next one's start (handing the result back, recording it, sending the next
  mini-batch), ``per_mini_batch_ms`` (median and mean; goal <= 5 ms). ``direct_run_ms``: the
  same ``run()`` called in this process on one mini-batch, for scale.
* ``parallel``: ``files`` files, ``mini_batch_size`` 10, 2 workers (``max_concurrency_per_instance
  = 2``): the job's wall time from ``start_job`` to its end (worker start-up and ``init()``
  included) against the sum of the ``run()`` times divided by the workers, ``ratio`` (goal <=
  1.3). With fewer CPUs than workers the engine runs fewer workers (``workers``), and the ideal
  is divided by those.
* ``warm_start``: ``jobs`` jobs in a row (4 files, one per mini-batch, 2 workers) of a script
  importing the heaviest of scikit-learn / numpy installed (``package``; ``--quick``: numpy
  first), cold
  (``AZUREML_EMULATOR_WARM_START=0``: each worker a fresh interpreter importing it) and warm
  (workers forked from a zygote that imported it; the first warm job starts that zygote): each
  job's wall time from ``start_job`` to its end, and ``ratio_after_first`` (the median warm job
  after the first against the median cold one). The sections above run warm (the default).
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import platform
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from emulator.batch.engine import BatchTask, start_job
from emulator.batch.runtime import WorkerRuntime
from emulator.batch.settings import BatchSettings
from emulator.settings import WARM_START_ENV

#: The scoring script: 10 ms per file, each call's start and end (and worker) recorded.
SCRIPT = """
    import json, os, time
    from pathlib import Path

    def init():
        global log
        log = open(Path(os.environ["AZUREML_BI_OUTPUT_PATH"], f"calls-{os.getpid()}.jsonl"), "a")

    def run(mini_batch):
        started = time.time()
        for _ in mini_batch:
            time.sleep(0.010)
        ended = time.time()
        log.write(json.dumps([os.getpid(), started, ended]) + "\\n")
        log.flush()
        return [Path(f).name for f in mini_batch]
"""


#: The warm_start section's script: ``{package}`` imported at module level, as users do.
IMPORTING_SCRIPT = """
    from pathlib import Path
    import {package}

    def init():
        pass

    def run(mini_batch):
        return [Path(f).name for f in mini_batch]
"""


def _job(
    work: Path, files: int, workers: int, source: str = SCRIPT, mini_batch_size: int = 10
) -> tuple[float, list[list[float]], int]:
    """Run a job; its wall time, the recorded calls, the workers it ran."""
    data = work / "data"
    data.mkdir(parents=True)
    for i in range(files):
        (data / f"{i:05d}.txt").write_text(str(i))
    script = work / "code" / "score.py"
    script.parent.mkdir()
    script.write_text(textwrap.dedent(source))
    task = BatchTask(
        runtime=WorkerRuntime.current(),
        scoring_script=script,
        model_dir=None,
        inputs=[data],
        job_dir=work / "job",
        output_dir=work / "job" / "score",
        settings=BatchSettings(
            mini_batch_size=mini_batch_size, max_concurrency_per_instance=workers
        ),
    )
    started = time.perf_counter()
    job = start_job(task)
    status = job.wait(600)
    wall = time.perf_counter() - started
    if status != "Completed":
        raise SystemExit(f"the job ended {status}: {job.error}")
    calls = [
        json.loads(line)
        for path in task.output_dir.glob("calls-*.jsonl")
        for line in path.read_text().splitlines()
    ]
    return wall, calls, len({call[0] for call in calls})


def _direct_ms(work: Path) -> float:
    """One mini-batch of 10 files through ``run()`` called in this process."""
    spec = importlib.util.spec_from_file_location("bench_score", work / "code" / "score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    os.environ["AZUREML_BI_OUTPUT_PATH"] = str(work)
    module.init()
    files = [str(work / "data" / f"{i:05d}.txt") for i in range(10)]
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        module.run(files)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def overhead(mini_batches: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        work = Path(tmp)
        _, calls, _ = _job(work, mini_batches * 10, workers=1)
        calls.sort(key=lambda call: call[1])
        gaps = [(b[1] - a[2]) * 1000 for a, b in itertools.pairwise(calls)]
        return {
            "mini_batches": mini_batches,
            "files_per_mini_batch": 10,
            "per_mini_batch_ms": {
                "median": round(statistics.median(gaps), 3),
                "mean": round(statistics.fmean(gaps), 3),
                "max": round(max(gaps), 3),
            },
            "direct_run_ms": round(_direct_ms(work), 3),
            "goal_ms": 5,
        }


def parallel(files: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        wall, calls, workers = _job(Path(tmp), files, workers=2)
        run_total = sum(call[2] - call[1] for call in calls)
        ideal = run_total / workers
        return {
            "files": files,
            "mini_batch_size": 10,
            "workers": workers,
            "wall_s": round(wall, 3),
            "sum_run_s": round(run_total, 3),
            "ideal_s": round(ideal, 3),
            "ratio": round(wall / ideal, 3),
            "goal_ratio": 1.3,
        }


def _package(quick: bool) -> str:
    preferred = ("numpy", "sklearn.linear_model") if quick else ("sklearn.linear_model", "numpy")
    for package in preferred:
        if importlib.util.find_spec(package.partition(".")[0]) is not None:
            return package
    return "json"  # the standard library: nothing to import ahead


def warm_start(jobs: int, quick: bool) -> dict[str, Any]:
    package = _package(quick)
    source = IMPORTING_SCRIPT.replace("{package}", package)
    walls: dict[str, list[float]] = {}
    for mode, switch in (("cold", "0"), ("warm", "1")):
        os.environ[WARM_START_ENV] = switch
        with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
            walls[mode] = [
                round(_job(Path(tmp, str(n)), 4, 2, source, mini_batch_size=1)[0], 3)
                for n in range(jobs)
            ]
    os.environ.pop(WARM_START_ENV)
    cold = statistics.median(walls["cold"])
    warm_after_first = statistics.median(walls["warm"][1:])
    return {
        "package": package,
        "jobs": jobs,
        "files": 4,
        "workers": 2,
        "cold_job_s": walls["cold"],
        "warm_job_s": walls["warm"],
        "cold_median_s": round(cold, 3),
        "warm_first_s": walls["warm"][0],
        "warm_median_after_first_s": round(warm_after_first, 3),
        "ratio_after_first": round(warm_after_first / cold, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer files (a smoke run)")
    args = parser.parse_args()
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "overhead": overhead(10 if args.quick else 100),
        "parallel": parallel(100 if args.quick else 1000),
        "warm_start": warm_start(2 if args.quick else 5, args.quick),
    }
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
