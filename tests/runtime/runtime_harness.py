"""Helpers of the runtime tests: where assets are, the process check every test relies on."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from emulator.runtime.backends.process import processes_with_env
from emulator.runtime.container import Container
from emulator.runtime.labels import CONTAINER, SESSION, env_name, session_id

REPO = Path(__file__).resolve().parents[2]
SCORING = REPO / "fixtures" / "scoring"
TEST_RUN_ENV = "AMLEMU_TEST_RUN"
READY_TIMEOUT = 30.0

BuildImage = Callable[[str], str]
StartContainer = Callable[..., Container]


def assert_no_processes(container: Container, timeout: float = 5.0) -> None:
    """No process carrying the container's labels is alive (after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        mine = set(processes_with_env(env_name(SESSION), session_id()))
        named = set(processes_with_env(env_name(CONTAINER), container.name))
        left = sorted(mine & named)
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    assert not left, f"container {container.name} left processes: {left}"
