"""``scripts/setup-cgroups.sh``: cgroups handed in read-only (as container runtimes do) are made
writable, so the kernel-enforced limits work and their tests run.

The script runs in a private mount namespace (``unshare -m``) whose cgroup mounts were first
remounted read-only: the machine's own mounts are never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from assets import REPO

from emulator.runtime import limits

pytestmark = pytest.mark.usefixtures("writable_cgroups")

_CHECK = "from emulator.runtime.limits import cgroup_bases; print(cgroup_bases()[0] or 'none')"


def test_read_only_cgroup_mounts_are_remounted_writable() -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for a private mount namespace")
    points = sorted({str(point) for point, _ in limits._cgroup_mounts().values()})
    remount = "; ".join(f"mount -o remount,ro,bind {point}" for point in points)
    script = (
        "set -e; mount --make-rprivate /; "
        f"{remount}; "
        f'echo before=$({sys.executable} -c "{_CHECK}"); '
        "bash scripts/setup-cgroups.sh; "
        f'echo after=$({sys.executable} -c "{_CHECK}")'
    )
    result = subprocess.run(
        ["unshare", "-m", "bash", "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "before=none" in lines  # read-only: the emulator would fall back to rlimits
    assert any(line.startswith("cgroups: remounting ") for line in lines), result.stdout
    version = limits.cgroup_bases()[0]
    assert f"cgroups: writable ({version})" in lines
    assert f"after={version}" in lines
