"""Resident memory of the emulator's processes: this one (gateways, supervisors) and every
process it started (replica servers and their workers), found by their session label."""

from __future__ import annotations

import os
from pathlib import Path

from emulator.runtime.backends.process import processes_with_env
from emulator.runtime.labels import SESSION, env_name, session_id


def emulator_pids() -> list[int]:
    return [os.getpid(), *processes_with_env(env_name(SESSION), session_id())]


def rss_mb(pids: list[int]) -> float:
    """The summed ``VmRSS`` of ``pids`` in MiB (processes that ended count as 0)."""
    total_kb = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return round(total_kb / 1024, 1)
