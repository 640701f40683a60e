"""Runs in subprocesses: ``--aml-keep`` under pytest-xdist, and the example suite on two
workers (the plugin must be safe under ``pytest -n``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from emulator import Webservice, Workspace, mock_aml

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "examples" / "pytest_suite"
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")


def _clean_environment() -> dict[str, str]:
    """This run's environment without what would make the inner run part of this one."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYTEST_XDIST_", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST"))
    }


@pytest.mark.slow
def test_keep_leaves_services_and_their_logs_and_says_where(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        score_kept="def init():\n    print('kept: ready')\n\ndef run(raw):\n    return 1\n",
        test_kept="def test_one(aml_deploy):\n    aml_deploy('score_kept.py')\n",
    )
    for name in [n for n in os.environ if n.startswith("PYTEST_XDIST_")]:
        monkeypatch.delenv(name)
    result = pytester.runpytest_subprocess(*QUIET, "-n", "1", "--aml-keep", "--aml-root=roots")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*= azureml-emulator =*",
            "1 service(s) kept; they answer until this pytest process exits*",
            "  score-kept-1 (ACI) http://127.0.0.1:*/score",
            "    root: *roots/gw0/test_one-*",
        ]
    )
    root = Path(re.search(r"root: (\S+)", result.stdout.str()).group(1))  # type: ignore[union-attr]
    logs = list((root / "runtime" / "logs").rglob("score-kept-1-*.log"))
    assert logs and "kept: ready" in logs[0].read_text()
    with mock_aml(root=root):
        workspace = Workspace.get("test-workspace")
        assert Webservice(workspace, "score-kept-1").name == "score-kept-1"  # not deleted


@pytest.mark.slow
def test_the_example_suite_passes_on_two_workers(tmp_path: Path) -> None:
    roots = tmp_path / "roots"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider",
         f"--aml-root={roots}", f"--basetemp={tmp_path / 'base'}", str(SUITE)],
        cwd=SUITE, env=_clean_environment(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert re.search(r"\b10 passed\b", output), output
    workers = {path.name for path in roots.iterdir()}
    assert workers and workers <= {"gw0", "gw1"}  # one directory of roots per worker
