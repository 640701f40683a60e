"""What the host-termination tests (amlemu run, the portal, pytest sessions) look for after a
host ends: the processes its session left, and whether a port still answers HTTP."""

from __future__ import annotations

import urllib.error
import urllib.request

from emulator.runtime.backends.process import processes_with_env
from emulator.runtime.labels import SESSION, env_name
from emulator.runtime.lifeline import WATCHDOG_ENV


def session_leftovers(session: str) -> list[int]:
    """Processes of the session: replicas and their workers, and its watchdog."""
    return processes_with_env(env_name(SESSION), session) + processes_with_env(
        WATCHDOG_ENV, session
    )


def answers(port: int) -> bool:
    """Whether anything serves HTTP on ``127.0.0.1:port``."""
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True
