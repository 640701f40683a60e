"""The daemon lock: a probe holding it for an instant never makes a starting daemon give up,
while a running daemon keeps every other one out."""

from __future__ import annotations

import threading
from pathlib import Path

from emulator.daemon.files import DaemonFiles


def test_a_starting_daemon_waits_out_a_brief_probe(tmp_path: Path) -> None:
    files = DaemonFiles.for_root(tmp_path)
    probe = files.acquire()
    assert probe is not None
    release = threading.Timer(0.2, probe.close)
    release.start()
    try:
        daemon = files.acquire(wait=5.0)
        assert daemon is not None
        daemon.close()
    finally:
        release.join()


def test_a_held_lock_keeps_a_second_daemon_out(tmp_path: Path) -> None:
    files = DaemonFiles.for_root(tmp_path)
    running = files.acquire()
    assert running is not None
    try:
        assert files.acquire(wait=0.1) is None
        assert files.running() is None  # locked, but no pid/port published yet: still starting
        files.publish(4321)
        info = files.running()
        assert info is not None and info.port == 4321
    finally:
        running.close()
    assert files.running() is None
    assert not files.pid_file.exists()  # the stale pid file went with the lock
    assert files.last_port() == 4321
