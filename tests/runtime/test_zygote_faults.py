"""A zygote that misbehaves never hangs a deployment: a message the host cannot read closes the
zygote (a waiting launch is refused, a replica's reap returns), a launch that gets no answer in
time is refused (and the replica forked late is killed, it would hold the cold start's port),
and a zygote whose record cannot be written does not run on unrecorded.

Each test starts a bare zygote of this interpreter (no candidates: it imports the server only)
and injects the fault by wrapping ``Zygote._take`` (the host's handling of one message).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runtime_harness import REPO

from emulator.runtime import reaper, zygote
from emulator.runtime.limits import Confinement

#: Seconds a test waits for what must happen at once (a hang fails instead of blocking CI).
PROMPT = 30.0


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


@pytest.fixture
def started() -> Iterator[list[zygote.Zygote]]:
    """Zygotes a test starts, stopped after it."""
    zygotes: list[zygote.Zygote] = []
    yield zygotes
    for each in zygotes:
        each.stop()


def _sleeper(tmp_path: Path) -> zygote.Request:
    """A replica that runs a file sleeping for a minute (until it is killed)."""
    script = tmp_path / "sleeper.py"
    script.write_text("import time\ntime.sleep(60)\n")
    return zygote.Request(
        environment=_environment(),
        cwd=str(tmp_path),
        log_path=tmp_path / "sleeper.log",
        confinement=Confinement().to_json(),
        args=[],
        main=str(script),
    )


def _wrap_take(monkeypatch: pytest.MonkeyPatch, before: Any) -> None:
    """Run ``before(message)`` ahead of the host's handling of each message of the zygote."""
    take = zygote.Zygote._take

    def wrapped(self: zygote.Zygote, message: dict[str, Any]) -> None:
        before(message)
        take(self, message)

    monkeypatch.setattr(zygote.Zygote, "_take", wrapped)


def test_a_message_the_host_cannot_read_refuses_the_launch_and_ends_the_zygote(
    monkeypatch: pytest.MonkeyPatch, started: list[zygote.Zygote]
) -> None:
    def garbled(message: dict[str, Any]) -> None:
        if message.get("op") == "ready":
            raise ValueError("garbled message")

    _wrap_take(monkeypatch, garbled)
    owner = zygote.Zygote(sys.executable, _environment(), [])
    started.append(owner)
    with pytest.raises(zygote.Refused, match="the warm interpreter exited"):
        owner.wait_ready(timeout=PROMPT)  # refused at once, not after the timeout
    assert owner.process.wait(timeout=PROMPT) is not None  # the zygote ended with its socket
    assert not owner.alive


def test_a_replica_reap_returns_when_the_host_stops_understanding_its_zygote(
    monkeypatch: pytest.MonkeyPatch, started: list[zygote.Zygote], tmp_path: Path
) -> None:
    armed = threading.Event()

    def garbled(message: dict[str, Any]) -> None:
        if armed.is_set():
            raise KeyError("code")

    _wrap_take(monkeypatch, garbled)
    owner = zygote.Zygote(sys.executable, _environment(), [])
    started.append(owner)
    leader = zygote.ZygoteLeader(owner, owner.launch(_sleeper(tmp_path)))
    armed.set()
    leader.signal(signal.SIGTERM)  # its exit report is the message the host cannot read
    codes: list[int] = []
    reaping = threading.Thread(target=lambda: codes.append(leader.reap()), daemon=True)
    reaping.start()
    reaping.join(PROMPT)
    assert codes == [128 + signal.SIGKILL]  # the zygote closed: its replicas read as killed
    assert owner.process.wait(timeout=PROMPT) is not None


def test_a_launch_without_an_answer_in_time_is_refused_and_its_late_replica_killed(
    monkeypatch: pytest.MonkeyPatch, started: list[zygote.Zygote], tmp_path: Path
) -> None:
    gave_up = threading.Event()
    late: list[int] = []

    def slow(message: dict[str, Any]) -> None:
        if message.get("op") == "launched":  # the zygote answers after the launch gave up
            gave_up.wait(PROMPT)
            late.append(int(message["pid"]))

    _wrap_take(monkeypatch, slow)
    monkeypatch.setattr(zygote, "LAUNCH_TIMEOUT_S", 0.5)
    owner = zygote.Zygote(sys.executable, _environment(), [])
    started.append(owner)
    owner.wait_ready(timeout=PROMPT)
    with pytest.raises(zygote.Refused, match=r"did not answer within 0\.5 s"):
        owner.launch(_sleeper(tmp_path))
    gave_up.set()
    code = None
    for _ in range(int(PROMPT * 10)):
        if late:
            code = owner.exit_code(late[0], timeout=PROMPT)
            break
        threading.Event().wait(0.1)
    assert code == 128 + signal.SIGKILL  # killed on arrival: it would hold the cold one's port
    assert owner.alive  # the zygote itself serves the next launch


def test_a_zygote_that_cannot_be_recorded_is_killed_and_the_launch_goes_cold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pids: list[int] = []

    def unwritable(backend: str, ident: str, *args: Any, **kwargs: Any) -> reaper.Record:
        pids.append(int(ident))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(reaper, "record", unwritable)
    with pytest.raises(zygote.Refused, match=r"cannot start: .*No space left on device"):
        zygote.zygote_for(sys.executable, _environment(), ["zygote-faults-unrecorded"])
    assert len(pids) == 1
    with pytest.raises(ProcessLookupError):  # killed and reaped, not left running
        os.kill(pids[0], 0)
