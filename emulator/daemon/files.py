"""Where a root's daemon says it runs: a lock, a pid file and a port file under ``<root>/daemon``.

The lock (``daemon.lock``, ``flock``-ed for the daemon's whole life) is the truth: the kernel
releases it when the process ends, however it ends (even SIGKILL), so a pid file left behind by
a dead daemon is recognised as stale — never confused with a live one, even when the pid has
been reused by another process — and removed. The port file outlives the daemon on purpose: the
next ``amlemu up`` takes the same port when it is free, so variables printed by ``amlemu env``
stay valid across restarts.
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO


@dataclass(frozen=True)
class DaemonInfo:
    """A running daemon: its process and the port it serves on."""

    pid: int
    port: int

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class DaemonFiles:
    """The daemon files of one emulator root."""

    directory: Path

    @classmethod
    def for_root(cls, root: Path) -> DaemonFiles:
        directory = root / "daemon"
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        return cls(directory)

    @property
    def pid_file(self) -> Path:
        return self.directory / "daemon.pid"

    @property
    def port_file(self) -> Path:
        return self.directory / "daemon.port"

    @property
    def log_file(self) -> Path:
        return self.directory / "daemon.log"

    @property
    def lock_file(self) -> Path:
        return self.directory / "daemon.lock"

    def acquire(self, wait: float = 0.0) -> IO[str] | None:
        """Take the daemon lock (kept while the returned file stays open), or None when a
        daemon holds it. ``wait``: seconds to retry, so that a probe of ``status``, ``env`` or
        ``up --detach`` (which holds the lock for an instant) never makes a starting daemon
        give up."""
        handle = open(self.lock_file, "a")  # noqa: SIM115 (held open: that is the lock)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return handle
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    return None
                time.sleep(0.01)

    def publish(self, port: int) -> None:
        """Record this process as the root's daemon (call with the lock held, once serving)."""
        _write(self.port_file, f"{port}\n")
        _write(self.pid_file, f"{os.getpid()}\n")

    def withdraw(self) -> None:
        """Remove the pid file if it names this process."""
        if self._read_int(self.pid_file) == os.getpid():
            self.pid_file.unlink(missing_ok=True)

    def last_port(self) -> int | None:
        """The port the root's daemon used last (running or not)."""
        return self._read_int(self.port_file)

    def running(self) -> DaemonInfo | None:
        """The live daemon of this root, or None. A stale pid file is removed on the way."""
        handle = self.acquire()
        if handle is not None:  # nobody holds the lock: no daemon, whatever the files say
            try:
                self.pid_file.unlink(missing_ok=True)
            finally:
                handle.close()
            return None
        pid, port = self._read_int(self.pid_file), self._read_int(self.port_file)
        if pid is None or port is None:  # locked but not serving yet (starting up)
            return None
        return DaemonInfo(pid, port)

    def stale_pid(self) -> int | None:
        """The pid named by a pid file whose daemon is gone (for reporting), else None."""
        pid = self._read_int(self.pid_file)
        if pid is None:
            return None
        handle = self.acquire()
        if handle is None:
            return None
        handle.close()
        return pid

    @staticmethod
    def _read_int(path: Path) -> int | None:
        try:
            return int(path.read_text().strip())
        except (OSError, ValueError):
            return None


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
