"""Per-test overhead of a test that reuses a running deployment (``--aml-reuse``) and scores once.

Writes an echo scoring script and a test module of ``1 + --tests`` identical tests, each
``aml_deploy("echo.py").run(...)`` with ``@pytest.mark.aml_reuse``, then runs pytest on it in a
subprocess with a small plugin that wraps ``pytest_runtest_protocol`` in ``perf_counter``: each
test's whole protocol (set-up of its fixtures, the call, tear-down, reports). The first test
deploys the shared service; the others reuse it, and their times are what is reported (pytest's
``--durations`` rounds to 10 ms and would hide them). As many tests without fixtures follow in
the same session: pytest's own cost per test, the floor of the figure. Prints JSON.

    python benchmarks/bench_reuse.py [--tests 40] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from emulator.validation.resources import percentile

REPO = Path(__file__).resolve().parent.parent

ECHO = """
import json

def init():
    pass

def run(raw):
    return json.loads(raw)
"""

TESTS = """
import pytest

@pytest.mark.aml_reuse
@pytest.mark.parametrize("n", range({count}))
def test_reuse(aml_deploy, n):
    assert aml_deploy("echo.py").run('{{"n": %d}}' % n) == {{"n": n}}

@pytest.mark.parametrize("n", range({floor}))
def test_floor(n):
    pass
"""

#: A pytest plugin (``-p bench_timing``): each test's protocol time, appended to a JSON-lines file.
TIMING_PLUGIN = """
import json
import os
import time

import pytest

@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    started = time.perf_counter()
    yield
    elapsed = time.perf_counter() - started
    with open(os.environ["BENCH_TIMINGS"], "a") as out:
        out.write(json.dumps([item.nodeid, elapsed]) + "\\n")
"""


def _ms(values: list[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (seconds), in milliseconds."""
    value = percentile(values, share)
    assert value is not None, "no test was timed"
    return round(value * 1000, 2)


def run_once(workdir: Path) -> tuple[float, list[float], list[float]]:
    """One pytest session: the deploying test's seconds, each reusing test's, each empty test's."""
    timings = workdir / "timings.jsonl"
    timings.unlink(missing_ok=True)
    environ = {
        **os.environ,
        "BENCH_TIMINGS": str(timings),
        "PYTHONPATH": os.pathsep.join([str(workdir), str(REPO), str(REPO / "plugins")]),
    }
    command = [sys.executable, "-m", "pytest", "-q", "-p", "bench_timing", "-p", "no:randomly"]
    done = subprocess.run(
        [*command, "-p", "no:cacheprovider", "test_reuse_bench.py"],
        cwd=workdir,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"pytest failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    measured = [json.loads(line) for line in timings.read_text().splitlines()]
    reusing = [elapsed for nodeid, elapsed in measured if "test_reuse[" in nodeid]
    floor = [elapsed for nodeid, elapsed in measured if "test_floor[" in nodeid]
    return reusing[0], reusing[1:], floor


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=40, help="reusing tests per session (40)")
    parser.add_argument("--runs", type=int, default=3, help="pytest sessions (3)")
    args = parser.parse_args()
    first: list[float] = []
    reusing: list[float] = []
    floor: list[float] = []
    per_run = []
    with tempfile.TemporaryDirectory(prefix="amlemu-bench-reuse-") as scratch:
        workdir = Path(scratch)
        (workdir / "echo.py").write_text(ECHO)
        tests = TESTS.format(count=args.tests + 1, floor=args.tests)
        (workdir / "test_reuse_bench.py").write_text(tests)
        (workdir / "bench_timing.py").write_text(TIMING_PLUGIN)
        for _ in range(args.runs):
            deploy_s, seconds, empty = run_once(workdir)
            first.append(deploy_s)
            reusing += seconds
            floor += empty
            per_run.append(round(statistics.median(seconds) * 1000, 2))
    print(
        json.dumps(
            {
                "benchmark": "reuse_per_test_overhead",
                "reusing_tests": len(reusing),
                "sessions": args.runs,
                "p50_ms": _ms(reusing, 0.5),
                "p90_ms": _ms(reusing, 0.9),
                "min_ms": round(min(reusing) * 1000, 2),
                "max_ms": round(max(reusing) * 1000, 2),
                "p50_ms_per_session": per_run,
                "empty_test_p50_ms": _ms(floor, 0.5),
                "first_test_deploys_s": [round(s, 3) for s in first],
                "target_p50_ms": 5.0,
            }
        )
    )


if __name__ == "__main__":
    main()
