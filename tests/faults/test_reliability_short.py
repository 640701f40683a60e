"""The reliability runner's short run, as CI does it: load, faults during load, a crashed
emulator process, the registry under kills and fuzzing all pass, and the summary is JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FUZZ = ("--fuzz-inputs", "500")  # the full run's 10,000 would take minutes


@pytest.mark.slow
def test_short_reliability_run_passes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reliability", "--seconds", "5", "--clients", "16", *FUZZ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    summary = json.loads(done.stdout)
    assert summary["ok"] and summary["lost"] == 0 and summary["crashes"] == 0
    assert summary["requests"] > 0 and set(summary["statuses"]) == {"200"}
    assert summary["faults_survived"] == [
        "kill -9 a replica",
        "gateway restart on the same port",
        "emulator process restart",
    ]
    assert summary["registry"]["killed"] == 4 and summary["registry"]["duplicates"] == 0
    assert summary["fuzz"]["hostile"]["slowloris_408"] == "408"
    assert summary["fuzz_cases"] >= 500 and summary["memory_mb"]["flat"]
    # Distinct refused inputs (by content hash) reach the target; repeats count once.
    bad, distinct = summary["fuzz_distinct_bad_inputs"], summary["fuzz_distinct_inputs"]
    assert 500 <= bad <= distinct <= summary["fuzz_cases"] and summary["fuzz"]["ok"]
    assert summary["fuzz"]["distinct_refused"] + summary["cli_fuzz"]["distinct_refused"] == bad
