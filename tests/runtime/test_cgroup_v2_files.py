"""The cgroup v2 path against a fake cgroup2 tree in a temporary directory.

This machine mounts cgroup v1, so the real-kernel tests (``test_process_backend.py``) take the
v1 path; these check what the v2 path reads and writes: where the emulator's group goes (the
process's own group, else the tree's root), the controllers it delegates, the interface files
of a run's limits and the OOM counter. A real cgroupfs creates the interface files of a new
group itself; the fake tree has them made in advance.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.runtime import limits
from emulator.runtime.limits import GIB, GROUP

OWN = "/user.slice/session-1.scope"


def _group(path: Path, subtree: str = "") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "cgroup.subtree_control").write_text(subtree)
    (path / "cgroup.procs").write_text("")
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    point = _group(tmp_path / "cgroup", subtree="io")
    (point / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids\n")
    _group(point / OWN.lstrip("/"))
    _group(point / OWN.lstrip("/") / GROUP)
    return point


@pytest.fixture
def fresh_bases(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(limits.atexit, "register", lambda *args: None)
    limits._forget_bases()
    yield
    limits._forget_bases()


def test_the_emulators_group_goes_under_the_processs_own_group(tree: Path) -> None:
    base = limits._prepare_v2(tree, "/", OWN)
    own = tree / OWN.lstrip("/")
    assert base == own / GROUP
    assert (own / "cgroup.subtree_control").read_text() == "+memory +cpu"
    assert (base / "cgroup.subtree_control").read_text() == "+memory +cpu"
    assert (tree / "cgroup.subtree_control").read_text() == "io"  # the root is left alone


def test_the_tree_root_is_used_when_the_own_group_cannot_delegate(tree: Path) -> None:
    (tree / OWN.lstrip("/") / "cgroup.subtree_control").unlink()  # not delegated to us
    _group(tree / GROUP)
    assert limits._prepare_v2(tree, "/", OWN) == tree / GROUP
    assert (tree / "cgroup.subtree_control").read_text() == "+memory +cpu"


def test_no_v2_base_without_the_memory_and_cpu_controllers(tree: Path) -> None:
    (tree / "cgroup.controllers").write_text("cpuset io pids\n")
    assert limits._prepare_v2(tree, "/", OWN) is None


def test_a_containers_mount_root_is_stripped_from_its_own_path(tmp_path: Path) -> None:
    assert limits._inside(tmp_path, "/docker/abc", "/docker/abc/job") == tmp_path / "job"
    assert limits._inside(tmp_path, "/", "/a/b") == tmp_path / "a" / "b"


def test_a_runs_limits_are_written_to_the_v2_interface_files(tree: Path) -> None:
    base = limits._prepare_v2(tree, "/", OWN)
    assert base is not None
    run = _group(base / "0123456789ab-1-00000000")
    (run / "memory.swap.max").write_text("max")
    allocation = limits._allocate_v2(run, 0.5, 1.5)
    assert allocation.mechanism == "cgroup2" and allocation.cgroups == (str(run),)
    assert (run / "memory.max").read_text() == str(GIB // 2)
    assert (run / "memory.swap.max").read_text() == "0"  # no swapping past the limit
    assert (run / "cpu.max").read_text() == "150000 100000"  # 1.5 cores of each 100 ms
    assert allocation.confinement.cgroup_procs == (str(run / "cgroup.procs"),)
    assert allocation.oom_kills() == 0
    (run / "memory.events").write_text("low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\n")
    assert allocation.oom_kills() == 1


def test_a_tiny_cpu_limit_keeps_the_kernels_minimum_quota(tree: Path) -> None:
    run = _group(tree / "run")
    limits._allocate_v2(run, None, 0.001)
    assert (run / "cpu.max").read_text() == "1000 100000"
    assert not (run / "memory.max").exists()


def test_cgroup_bases_prefers_v2_when_the_tree_is_mounted(
    tree: Path, fresh_bases: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "_cgroup_mounts", lambda: {"": (tree, "/")})
    monkeypatch.setattr(limits, "_own_cgroups", lambda: {"": OWN})
    assert limits.cgroup_bases() == ("cgroup2", (tree / OWN.lstrip("/") / GROUP,))
