"""Tests of the kernel-enforced limits skip where no cgroup is writable, except where the run
says it must have them (``--require-cgroups``, or any run under ``CI``): there they fail, so a
CI machine that lost its cgroups cannot pass by silently testing nothing.

Each case runs a real cgroup test of this suite in a pytest of its own, on a machine made to
look cgroup-less by a plugin that answers :func:`emulator.runtime.limits.cgroup_bases` as a
non-root user or a read-only ``/sys/fs/cgroup`` would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CGROUP_TEST = "tests/runtime/test_process_backend.py::test_cgroup_limits_are_written_and_removed"
NO_CGROUPS = '''\
"""Answer cgroup_bases() as a machine without a writable cgroup does."""
from emulator.runtime import limits

limits._bases = (None, ())
'''


def _run_cgroup_test(tmp_path: Path, *flags: str, ci: bool) -> subprocess.CompletedProcess[str]:
    (tmp_path / "amlemu_no_cgroups.py").write_text(NO_CGROUPS)
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(tmp_path), str(REPO), str(REPO / "plugins"), env.get("PYTHONPATH", "")]
    )
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "amlemu_no_cgroups", "-p", "no:cacheprovider",
         "-q", "-rsf", CGROUP_TEST, *flags],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip


def test_without_cgroups_a_plain_run_skips_the_kernel_limit_tests(tmp_path: Path) -> None:
    run = _run_cgroup_test(tmp_path, ci=False)
    assert run.returncode == 0 and "1 skipped" in run.stdout, run.stdout + run.stderr
    assert "no writable cgroup here" in run.stdout and "scripts/setup-cgroups.sh" in run.stdout


@pytest.mark.parametrize(
    ("flags", "ci"), [(("--require-cgroups",), False), ((), True)], ids=["flag", "CI"]
)
def test_without_cgroups_a_run_that_requires_them_fails(
    tmp_path: Path, flags: tuple[str, ...], ci: bool
) -> None:
    run = _run_cgroup_test(tmp_path, *flags, ci=ci)
    assert run.returncode == 1 and "1 error" in run.stdout, run.stdout + run.stderr
    assert "cgroups are required but no writable cgroup here" in run.stdout, run.stdout
