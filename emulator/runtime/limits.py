"""Resource limits of process-backend runs: ``memory_gb`` and ``cpu_cores`` enforced by the kernel.

Azure runs each replica in a cgroup with its memory and CPU limits, so an ``init()`` that needs
more memory than ``memory_gb`` is OOM-killed and a busy ``run()`` gets ``cpu_cores`` of CPU.
The process backend does the same where the machine lets it (root, writable cgroupfs):

- **cgroup v2**: a child group per run under ``<cgroup>/azureml-emulator/`` with
  ``memory.max``, ``memory.swap.max = 0`` and ``cpu.max``; OOM kills are read from
  ``memory.events``; ``cgroup.kill`` ends everything in it.
- **cgroup v1** (hybrid hosts): the same in the ``memory`` and ``cpu`` hierarchies
  (``memory.limit_in_bytes``, ``memory.memsw.limit_in_bytes``, ``cpu.cfs_quota_us``; OOM kills
  from ``memory.oom_control``).
- **rlimits** otherwise: ``RLIMIT_DATA`` of ``memory_gb`` per process (an allocation beyond it
  raises ``MemoryError`` instead of an OOM kill, and the limit is per process, not for the
  replica as a whole), and CPU affinity to ``ceil(cpu_cores)`` CPUs (whole CPUs only).

A group is created for every run even without limits: killing a cgroup also ends processes that
left the process group. The run joins its groups *before* the server starts: the backend starts
this file as a script (standard library only, so any image's interpreter can run it), which
applies the :class:`Confinement` to itself and ``exec``s the server (no ``preexec_fn`` in a
threaded parent, and the limit holds from the server's first allocation).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import math
import os
import re
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger("azureml.emulator.runtime")

MODES = ("auto", "cgroup", "rlimit")
#: Which mechanism enforced a replica's ``memory_gb`` (``ContainerStatus.limits``), as users
#: read it: the kernel's OOM killer for a whole replica, or the per-process fallback.
MECHANISMS = {
    "cgroup2": "cgroup v2 (memory.max on the whole replica; OOMKilled is an OOM kill by the "
    "kernel)",
    "cgroup1": "cgroup v1 (memory.limit_in_bytes on the whole replica; OOMKilled is an OOM kill "
    "by the kernel)",
    "rlimit": "rlimit (no writable cgroup: RLIMIT_DATA on each process, not on the replica as "
    "a whole; OOMKilled is inferred from a MemoryError in the log)",
    "docker": "Docker engine (the memory limit of the container; OOMKilled as the engine "
    "reports it)",
}
GROUP = "azureml-emulator"
GIB = 1 << 30
_CPU_PERIOD_US = 100_000
_MIN_CPU_QUOTA_US = 1_000
#: Run groups are named ``<session id>-<8 hex>``, the session id ending in its pid.
_RUN_GROUP = re.compile(r"^[0-9a-f]{12}-(\d+)-[0-9a-f]{8}$")
#: Exit code of a run whose limits could not be applied (the shell's "cannot execute").
CONFINE_FAILED = 126


@dataclass(frozen=True)
class Confinement:
    """What a run applies to itself before the server starts."""

    cgroup_procs: tuple[str, ...] = ()
    data_bytes: int | None = None
    cpus: tuple[int, ...] | None = None

    def __bool__(self) -> bool:
        return bool(self.cgroup_procs) or self.data_bytes is not None or self.cpus is not None

    def to_json(self) -> str:
        return json.dumps(
            {
                "cgroupProcs": list(self.cgroup_procs),
                "dataBytes": self.data_bytes,
                "cpus": None if self.cpus is None else list(self.cpus),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Confinement:
        raw = json.loads(text)
        cpus = raw.get("cpus")
        return cls(
            tuple(raw["cgroupProcs"]), raw.get("dataBytes"), None if cpus is None else tuple(cpus)
        )

    def apply(self) -> None:
        """Join the groups and set the limits, in this process (children inherit them)."""
        for procs in self.cgroup_procs:
            with open(procs, "w", encoding="ascii") as handle:
                handle.write(str(os.getpid()))
        if self.data_bytes is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_DATA, (self.data_bytes, self.data_bytes))
        if self.cpus is not None:
            os.sched_setaffinity(0, self.cpus)


@dataclass(frozen=True)
class Allocation:
    """The limits of one run: the mechanism used and the cgroup directories it owns."""

    mechanism: str  # "cgroup2" | "cgroup1" | "rlimit"
    cgroups: tuple[str, ...] = ()
    confinement: Confinement = Confinement()

    def command(self, argv: Sequence[str], python: str) -> list[str]:
        """``argv`` started confined: through this script, unless there is nothing to apply."""
        if not self.confinement:
            return list(argv)
        script = str(Path(__file__).resolve())
        return [python, "-I", "-S", script, self.confinement.to_json(), "--", *argv]

    def oom_kills(self) -> int:
        """How many processes of the run the kernel's OOM killer ended (cgroups only)."""
        if self.mechanism == "cgroup2":
            return _counter(Path(self.cgroups[0]) / "memory.events", "oom_kill")
        if self.mechanism == "cgroup1":
            return _counter(Path(self.cgroups[0]) / "memory.oom_control", "oom_kill")
        return 0

    def kill_all(self, timeout: float = 2.0) -> None:
        """SIGKILL every process in the run's groups, until they are empty or ``timeout``."""
        deadline = time.monotonic() + timeout
        for directory in map(Path, self.cgroups):
            kill_file = directory / "cgroup.kill"
            if kill_file.exists():
                with contextlib.suppress(OSError):
                    kill_file.write_text("1", encoding="ascii")
            while pids := _pids(directory):
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)

    def release(self, timeout: float = 2.0) -> bool:
        """Kill what is left and remove the groups; False if one could not be removed."""
        self.kill_all(timeout)
        deadline = time.monotonic() + timeout
        removed = True
        for directory in self.cgroups:
            while True:
                try:
                    os.rmdir(directory)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        removed = False
                        break
                    time.sleep(0.01)
        return removed

    def to_data(self) -> dict[str, Any]:
        """What the reaper keeps to clean up after a dead session."""
        return {"mechanism": self.mechanism, "cgroups": list(self.cgroups)}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Allocation:
        return cls(data.get("mechanism", "rlimit"), tuple(data.get("cgroups", ())))


def describe_mechanism(mechanism: str) -> str:
    """What ``mechanism`` (``cgroup2`` / ``cgroup1`` / ``rlimit`` / ``docker``) means for the
    memory limit, in a sentence a replica's error and status can carry."""
    return MECHANISMS.get(mechanism, mechanism)


def allocate(
    key: str, memory_gb: float | None, cpu_cores: float | None, mode: str = "auto"
) -> Allocation:
    """Prepare the limits of one run (``key`` names its cgroups; unique per run).

    ``mode``: ``auto`` (cgroups when available and working, else rlimits), ``cgroup`` (cgroups
    or an error) or ``rlimit`` (always the fallback; tests use it to cover both paths).
    """
    if mode not in MODES:
        raise ValueError(f"limits mode must be one of {', '.join(MODES)}, not {mode!r}")
    if mode != "rlimit":
        for attempt in (1, 2):
            version, bases = cgroup_bases()
            try:
                if version == "cgroup2":
                    return _allocate_v2(bases[0] / key, memory_gb, cpu_cores)
                if version == "cgroup1":
                    return _allocate_v1(bases[0] / key, bases[1] / key, memory_gb, cpu_cores)
            except OSError as exc:
                if attempt == 1:  # another session's exit may have just removed the base group
                    _forget_bases()
                    continue
                if mode == "cgroup":
                    raise
                logger.warning("cgroup limits unavailable (%s); using rlimits", exc)
            break
        if mode == "cgroup":
            raise OSError(
                "No writable cgroup (v2 with the memory and cpu controllers, or v1 memory and "
                "cpu hierarchies) is available to this process; run as root on a host with a "
                "writable /sys/fs/cgroup, or use the rlimit fallback."
            )
    return Allocation("rlimit", (), _rlimit_confinement(memory_gb, cpu_cores))


_bases: tuple[str | None, tuple[Path, ...]] | None = None


def cgroup_bases() -> tuple[str | None, tuple[Path, ...]]:
    """The cgroup version usable here and the ``azureml-emulator`` group(s) to create runs in.

    ``("cgroup2", (base,))``, ``("cgroup1", (memory base, cpu base))`` or ``(None, ())``;
    found once per process (the groups are created on the way).
    """
    global _bases
    if _bases is None:
        mounts = _cgroup_mounts()
        own = _own_cgroups()
        _bases = (None, ())
        if "" in mounts:
            base = _prepare_v2(mounts[""][0], mounts[""][1], own.get("", "/"))
            if base is not None:
                _bases = ("cgroup2", (base,))
        if _bases[0] is None and "memory" in mounts and "cpu" in mounts:
            memory = _prepare_v1(*mounts["memory"], own.get("memory", "/"))
            cpu = _prepare_v1(*mounts["cpu"], own.get("cpu", "/"))
            if memory is not None and cpu is not None:
                _bases = ("cgroup1", (memory, cpu))
        if _bases[0] is not None:
            for base in _bases[1]:
                _sweep_abandoned(base)
            atexit.register(_remove_bases, _bases[1])
    return _bases


def _sweep_abandoned(base: Path) -> None:
    """Remove empty run groups whose session process is gone (their records were lost with a
    deleted emulator root, so no reaper will). Groups with processes are the reaper's."""
    for group in base.iterdir():
        match = _RUN_GROUP.match(group.name)
        if match is None or not group.is_dir():
            continue
        try:
            os.kill(int(match.group(1)), 0)
            continue  # the owner still runs
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        with contextlib.suppress(OSError):
            group.rmdir()


def _forget_bases() -> None:
    global _bases
    _bases = None


def _remove_bases(bases: tuple[Path, ...]) -> None:
    """At exit: the ``azureml-emulator`` groups go too, unless another session still uses them
    (a group left in the cgroup of a systemd unit or CI job would keep that from being removed)."""
    for base in bases:
        with contextlib.suppress(OSError):
            base.rmdir()


def _allocate_v2(group: Path, memory_gb: float | None, cpu_cores: float | None) -> Allocation:
    group.mkdir(exist_ok=True)
    try:
        if memory_gb is not None:
            _write(group / "memory.max", str(int(memory_gb * GIB)))
            if (group / "memory.swap.max").exists():
                _write(group / "memory.swap.max", "0")
        if cpu_cores is not None:
            _write(group / "cpu.max", f"{_cpu_quota(cpu_cores)} {_CPU_PERIOD_US}")
    except OSError:
        Allocation("cgroup2", (str(group),)).release()
        raise
    procs = (str(group / "cgroup.procs"),)
    return Allocation("cgroup2", (str(group),), Confinement(procs))


def _allocate_v1(
    memory_group: Path, cpu_group: Path, memory_gb: float | None, cpu_cores: float | None
) -> Allocation:
    groups = (str(memory_group), str(cpu_group))
    memory_group.mkdir(exist_ok=True)
    cpu_group.mkdir(exist_ok=True)
    try:
        if memory_gb is not None:
            limit = str(int(memory_gb * GIB))
            _write(memory_group / "memory.limit_in_bytes", limit)
            if (memory_group / "memory.memsw.limit_in_bytes").exists():
                _write(memory_group / "memory.memsw.limit_in_bytes", limit)  # no swapping
        if cpu_cores is not None:
            _write(cpu_group / "cpu.cfs_period_us", str(_CPU_PERIOD_US))
            _write(cpu_group / "cpu.cfs_quota_us", str(_cpu_quota(cpu_cores)))
    except OSError:
        Allocation("cgroup1", groups).release()
        raise
    procs = tuple(f"{group}/cgroup.procs" for group in groups)
    return Allocation("cgroup1", groups, Confinement(procs))


def _rlimit_confinement(memory_gb: float | None, cpu_cores: float | None) -> Confinement:
    data = None if memory_gb is None else int(memory_gb * GIB)
    cpus = None
    if cpu_cores is not None:
        available = sorted(os.sched_getaffinity(0))
        wanted = max(1, math.ceil(cpu_cores))
        if wanted < len(available):
            cpus = tuple(available[:wanted])
    return Confinement((), data, cpus)


def _cpu_quota(cpu_cores: float) -> int:
    return max(_MIN_CPU_QUOTA_US, int(cpu_cores * _CPU_PERIOD_US))


def _cgroup_mounts() -> dict[str, tuple[Path, str]]:
    """Controller (``""`` for the v2 tree) → (mount point, root of the mount in the hierarchy)."""
    mounts: dict[str, tuple[Path, str]] = {}
    try:
        lines = Path("/proc/self/mountinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return mounts
    for line in lines:
        head, _, tail = line.partition(" - ")
        fields, details = head.split(), tail.split()
        if len(fields) < 5 or len(details) < 3:
            continue
        root, point, fstype = fields[3], Path(fields[4]), details[0]
        if fstype == "cgroup2":
            mounts.setdefault("", (point, root))
        elif fstype == "cgroup":
            for option in details[2].split(","):
                if option in ("memory", "cpu"):
                    mounts.setdefault(option, (point, root))
    return mounts


def _own_cgroups() -> dict[str, str]:
    """Controller (``""`` for v2) → this process's cgroup path."""
    own: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text(encoding="utf-8").splitlines()
    except OSError:
        return own
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            own[controller] = path
    return own


def _inside(point: Path, mount_root: str, path: str) -> Path:
    """The directory of cgroup ``path`` under a mount of the hierarchy's ``mount_root``."""
    if mount_root != "/" and path.startswith(mount_root):
        path = path[len(mount_root) :]
    return point / path.lstrip("/")


def _prepare_v2(point: Path, mount_root: str, own: str) -> Path | None:
    """``<parent>/azureml-emulator`` with memory and cpu delegated, under this process's group
    or else the tree's root (v2 allows no processes in a group that delegates controllers)."""
    try:
        controllers = (point / "cgroup.controllers").read_text(encoding="ascii").split()
    except OSError:
        return None
    if not {"memory", "cpu"} <= set(controllers):
        return None
    for parent in dict.fromkeys((_inside(point, mount_root, own), point)):
        base = parent / GROUP
        try:
            _enable_controllers(parent)
            base.mkdir(exist_ok=True)
            _enable_controllers(base)
        except OSError:
            with contextlib.suppress(OSError):
                base.rmdir()
            continue
        return base
    return None


def _enable_controllers(group: Path) -> None:
    enabled = (group / "cgroup.subtree_control").read_text(encoding="ascii").split()
    missing = [name for name in ("memory", "cpu") if name not in enabled]
    if missing:
        _write(group / "cgroup.subtree_control", " ".join(f"+{name}" for name in missing))


def _prepare_v1(point: Path, mount_root: str, own: str) -> Path | None:
    base = _inside(point, mount_root, own) / GROUP
    try:
        base.mkdir(exist_ok=True)
    except OSError:
        return None
    return base if os.access(base / "cgroup.procs", os.W_OK) else None


def _write(path: Path, value: str) -> None:
    with open(path, "w", encoding="ascii") as handle:
        handle.write(value)


def _counter(path: Path, name: str) -> int:
    try:
        for line in path.read_text(encoding="ascii").splitlines():
            key, _, value = line.partition(" ")
            if key == name:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _pids(group: Path) -> list[int]:
    try:
        return [int(pid) for pid in (group / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def main(argv: Sequence[str]) -> None:
    """``limits.py CONFINEMENT_JSON -- COMMAND...``: confine this process, then exec COMMAND."""
    if len(argv) < 3 or argv[1] != "--":
        print("usage: limits.py CONFINEMENT_JSON -- COMMAND...", file=sys.stderr)
        sys.exit(2)
    try:
        Confinement.from_json(argv[0]).apply()
    except (OSError, ValueError) as exc:
        print(f"[emulator] cannot apply the container's resource limits: {exc}", file=sys.stderr)
        sys.exit(CONFINE_FAILED)
    command = list(argv[2:])
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
