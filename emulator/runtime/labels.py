"""Labels on everything the runtime starts, so a process or container can always be traced back
to the Python process (the *session*) that started it and to the service replica it serves.

The reaper uses the session id to find what a dead session left behind; Docker containers carry
the labels as container labels, processes as environment variables (inherited by every child, so
even a process that left the process group can be found: see :func:`label_environment`).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping

PREFIX = "azureml-emulator."
SESSION = PREFIX + "session"
OWNER_PID = PREFIX + "owner-pid"
CONTAINER = PREFIX + "container"
SERVICE = PREFIX + "service"
REPLICA = PREFIX + "replica"

#: Environment variables that carry labels start with this (``AMLEMU_LABEL_SESSION``, ...).
ENV_PREFIX = "AMLEMU_LABEL_"

_session: tuple[int, str] | None = None


def session_id() -> str:
    """This process's session id (``<12 hex>-<pid>``); a forked child gets its own."""
    global _session
    pid = os.getpid()
    if _session is None or _session[0] != pid:
        _session = (pid, f"{uuid.uuid4().hex[:12]}-{pid}")
    return _session[1]


def container_labels(name: str, service: str | None = None, replica: int = 0) -> dict[str, str]:
    """The labels of one replica's container started by this session."""
    return {
        SESSION: session_id(),
        OWNER_PID: str(os.getpid()),
        CONTAINER: name,
        SERVICE: service or name,
        REPLICA: str(replica),
    }


def env_name(label: str) -> str:
    """``azureml-emulator.owner-pid`` → ``AMLEMU_LABEL_OWNER_PID``."""
    key = label[len(PREFIX) :] if label.startswith(PREFIX) else label
    return ENV_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", key).upper()


def label_environment(labels: Mapping[str, str]) -> dict[str, str]:
    """The labels as environment variables, for backends that run plain processes."""
    return {env_name(key): value for key, value in labels.items()}
