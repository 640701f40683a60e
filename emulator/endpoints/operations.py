"""One operation at a time per online deployment: a second create or update sent while one runs
is refused with 409 ``Conflict``, as Azure refuses it, instead of racing the first.

Azure's resource provider holds a lock on a deployment for the length of an operation and
answers a second one ``409 Conflict`` (the client retries once the first has ended). Without
it, two clients updating one deployment would each see the other's outcome in their poller,
and neither could tell which version serves. Operations run in the process serving the ARM
face (the daemon), which also provisions the replicas, so the lock is kept in this process:
a deployment whose record still says ``Creating`` because the process that created it ended
is not locked (the next create takes it over, as a restarted daemon does).
"""

from __future__ import annotations

import threading
from pathlib import Path

from emulator.exceptions import Conflict

#: A deployment: (root, workspace id, endpoint, deployment), names lowercased.
Key = tuple[str, int, str, str]
_GUARD = threading.Condition()
_RUNNING: set[Key] = set()


class DeploymentOperation:
    """The lock of one running operation on a deployment; :meth:`end` releases it once."""

    def __init__(self, key: Key) -> None:
        self._key = key
        self._ended = False

    def end(self) -> None:
        """Release the deployment for the next operation (idempotent)."""
        with _GUARD:
            if not self._ended:
                self._ended = True
                _RUNNING.discard(self._key)
                _GUARD.notify_all()


def _key(root: Path, workspace_id: int, endpoint: str, deployment: str) -> Key:
    return (str(root), workspace_id, endpoint.lower(), deployment.lower())


def wait_ended(
    root: Path, workspace_id: int, endpoint: str, deployment: str, timeout: float
) -> bool:
    """Whether no operation on the deployment runs here, waiting up to ``timeout`` seconds for
    the running one to end. The operation's outcome is stored a moment before its lock is
    released: the operation status reports the outcome only once both happened, so a client
    that sends its next update on seeing the outcome is never refused."""
    key = _key(root, workspace_id, endpoint, deployment)
    with _GUARD:
        return _GUARD.wait_for(lambda: key not in _RUNNING, timeout)


def begin_operation(
    root: Path, workspace_id: int, endpoint: str, deployment: str
) -> DeploymentOperation:
    """Take the deployment's lock for a create or update; :class:`Conflict` (409) while
    another operation on it runs. Names are case-insensitive, as Azure's are."""
    key = _key(root, workspace_id, endpoint, deployment)
    with _GUARD:
        if key in _RUNNING:
            raise Conflict(
                f"An operation on deployment '{deployment}' of online endpoint '{endpoint}' is "
                "in progress; a new create or update of it can start once that one has ended. "
                "[emulator] Wait for the first poller's result() (or until the deployment's "
                "provisioning_state is no longer Creating or Updating), then send it again.",
                code="Conflict",
            )
        _RUNNING.add(key)
    return DeploymentOperation(key)
