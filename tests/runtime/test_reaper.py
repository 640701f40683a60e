"""The reaper's records and the reaping of dead sessions, with killers registered by the test.

(Real processes killed by real sessions are in ``test_cleanup.py``.)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from emulator.runtime import labels, reaper


@pytest.fixture
def backend() -> tuple[str, list[reaper.Record]]:
    """A backend name of this test's own, whose killer records what it was asked to kill."""
    name = f"fake-{uuid.uuid4().hex[:8]}"
    killed: list[reaper.Record] = []
    reaper.register_killer(name, killed.append)
    return name, killed


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _dead_session(root: Path, backend: str, pid: int | None = None, **info: object) -> Path:
    """A session directory as a SIGKILLed session leaves it: one record of ``backend``."""
    pid = pid or _dead_pid()
    directory = reaper.sessions_dir(root) / f"0123456789ab-{pid}"
    directory.mkdir(parents=True)
    session = {
        "pid": pid,
        "start": "gone",
        "host": socket.gethostname(),
        "boot": reaper._boot_id(),
        **info,
    }
    (directory / reaper.SESSION_FILE).write_text(json.dumps(session))
    record = reaper.Record(backend, "c1", {labels.SESSION: directory.name}, {"x": 1})
    (directory / f"{backend}-c1.json").write_text(record.to_json())
    return directory


def test_session_ids_are_per_process() -> None:
    assert labels.session_id() == labels.session_id()
    assert labels.session_id().endswith(f"-{os.getpid()}")
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "from emulator.runtime.labels import session_id; print(session_id())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stdout.strip() != labels.session_id()
    assert labels.env_name(labels.OWNER_PID) == "AMLEMU_LABEL_OWNER_PID"
    tags = labels.container_labels("svc-0", "svc", 2)
    assert tags[labels.REPLICA] == "2" and tags[labels.OWNER_PID] == str(os.getpid())


def test_record_and_forget(runtime_root: Path, backend: tuple[str, list[reaper.Record]]) -> None:
    name, killed = backend
    entry = reaper.record(name, "abc/1", {"k": "v"}, {"pid": 1})
    assert entry.path is not None and entry.path.parent.name == labels.session_id()
    assert entry.path.parent.parent == runtime_root / "runtime" / "sessions"
    assert reaper.Record.load(entry.path) == entry
    info = json.loads((entry.path.parent / reaper.SESSION_FILE).read_text())
    assert info["pid"] == os.getpid() and reaper.owner_alive(info)
    reaper.forget(entry)
    reaper.forget(entry)
    assert not entry.path.exists()
    assert killed == []


def test_dead_sessions_are_reaped_once(
    runtime_root: Path, backend: tuple[str, list[reaper.Record]]
) -> None:
    name, killed = backend
    directory = _dead_session(runtime_root, name)
    reaped = reaper.reap_dead_sessions(runtime_root)
    assert [(r.backend, r.ident, r.data) for r in reaped] == [(name, "c1", {"x": 1})]
    assert [r.ident for r in killed] == ["c1"]
    assert not directory.exists()
    assert reaper.reap_dead_sessions(runtime_root) == []


def test_the_first_record_under_a_root_reaps_it(
    runtime_root: Path, backend: tuple[str, list[reaper.Record]]
) -> None:
    name, killed = backend
    directory = _dead_session(runtime_root, name)
    reaper.forget(reaper.record(name, "mine", {}))
    assert [r.ident for r in killed] == ["c1"]
    assert not directory.exists()


def test_a_record_that_cannot_be_killed_is_kept_for_later(
    runtime_root: Path, backend: tuple[str, list[reaper.Record]]
) -> None:
    name, _ = backend

    def refuse(entry: reaper.Record) -> None:
        raise RuntimeError("engine down")

    reaper.register_killer(name, refuse)
    directory = _dead_session(runtime_root, name)
    unknown = _dead_session(runtime_root, f"never-heard-of-{uuid.uuid4().hex[:6]}")
    assert reaper.reap_dead_sessions(runtime_root) == []
    assert (directory / f"{name}-c1.json").is_file()
    assert len(list(unknown.glob("never-heard-of-*.json"))) == 1


def test_live_and_foreign_sessions_are_left_alone(
    runtime_root: Path, backend: tuple[str, list[reaper.Record]]
) -> None:
    name, killed = backend
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        live = _dead_session(runtime_root, name, alive.pid, start=reaper.process_start(alive.pid))
        foreign = _dead_session(runtime_root, name, host="another-machine")
        reused = _dead_session(runtime_root, name, alive.pid + 100000)
        assert [r.ident for r in reaper.reap_dead_sessions(runtime_root)] == ["c1"]
        assert live.exists() and foreign.exists() and not reused.exists()
        assert len(killed) == 1
    finally:
        alive.kill()
        alive.wait()


def test_a_pid_reused_by_another_process_is_a_dead_session(
    runtime_root: Path, backend: tuple[str, list[reaper.Record]]
) -> None:
    name, killed = backend
    directory = _dead_session(runtime_root, name, os.getpid(), start="an earlier process")
    reaper.reap_dead_sessions(runtime_root)
    assert not directory.exists() and len(killed) == 1


def test_an_abandoned_claim_is_reaped_again(
    runtime_root: Path, backend: tuple[str, list[reaper.Record]]
) -> None:
    name, killed = backend
    directory = _dead_session(runtime_root, name)
    claimed = directory.with_name(f".reaping-{_dead_pid()}-{directory.name}")
    directory.rename(claimed)  # a reaper died mid-way
    assert len(reaper.reap_dead_sessions(runtime_root)) == 1
    assert not claimed.exists() and not directory.exists() and len(killed) == 1
