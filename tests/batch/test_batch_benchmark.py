"""The batch engine's benchmark still runs and prints the JSON its docstring describes (no
timing asserted: speeds are the benchmark's business)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_batch_engine.py"


def test_the_benchmark_reports_overhead_the_parallel_ratio_and_warm_against_cold() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    overhead = report["overhead"]
    assert overhead["mini_batches"] == 10
    assert overhead["per_mini_batch_ms"]["median"] > 0
    assert overhead["direct_run_ms"] >= 100  # 10 files of 10 ms
    parallel = report["parallel"]
    assert parallel["files"] == 100 and parallel["workers"] in (1, 2)
    assert parallel["sum_run_s"] >= 1.0 and parallel["ratio"] > 0
    warm = report["warm_start"]
    assert warm["jobs"] == 2 and len(warm["cold_job_s"]) == len(warm["warm_job_s"]) == 2
    assert warm["package"] in ("sklearn.linear_model", "numpy", "json")
    assert warm["ratio_after_first"] > 0
