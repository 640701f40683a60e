"""Nothing the runtime starts outlives the Python process (the *session*) that started it.

Every process or container is written down on disk as soon as it is started::

    <root>/runtime/sessions/<session id>/session.json          the owner: pid, start time, host
    <root>/runtime/sessions/<session id>/<backend>-<ident>.json one record per run

- At interpreter exit (``atexit``) and on SIGTERM, :func:`stop_session` kills everything this
  session recorded and removes its directory. SIGTERM's previous handler is called afterwards
  (the default one ends the process as before). Python's SIGINT handler is left alone: its
  ``KeyboardInterrupt`` ends the program through ``atexit`` — and one that is caught (a REPL,
  a notebook cell) leaves the services running, as it should; a SIGINT reset to the default
  (ending the process without ``atexit``) is handled like SIGTERM.
- A session killed without warning (SIGKILL, ``os._exit``) is cleaned up by its watchdog
  (:mod:`emulator.runtime.lifeline`) as soon as it is gone. What even that leaves (a machine
  that lost power, a killed watchdog) stays behind; the next
  session that records something under the same root reaps it (:func:`reap_dead_sessions`):
  a session is dead when its owner pid is gone or now belongs to another process (start times
  differ) or the machine rebooted. Sessions of other hosts sharing the root are left alone.

**For backends** (the docker backend uses exactly this)::

    from emulator.runtime import reaper

    rec = reaper.record("docker", container.id, spec.labels, {"name": container.name})
    ...                          # the run ends or is stopped, everything it left is removed
    reaper.forget(rec)

and a module-level ``kill_record(record: reaper.Record) -> None`` in the backend's module
(``emulator.runtime.backends.<name>``), which the reaper imports lazily to kill a dead
session's leftovers. It must be idempotent, never block for long, and succeed when the thing is
already gone; when it raises, the record is kept for a later session to retry.
``register_killer(name, kill)`` registers one explicitly instead. ``record`` called while the
session is shutting down kills the new run at once, so a supervisor thread that races the
exit cannot leak one.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib
import json
import logging
import os
import shutil
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from emulator.runtime import lifeline
from emulator.runtime.labels import session_id
from emulator.settings import emulator_root

logger = logging.getLogger("azureml.emulator.runtime")

SESSION_FILE = "session.json"
#: Backends whose ``kill_record`` the reaper can import when it meets their records.
BACKEND_MODULES = {
    "process": "emulator.runtime.backends.process",
    "docker": "emulator.runtime.backends.docker",
}
_STALE_TEMP_SECONDS = 60.0
_CLAIM = ".reaping-"

Killer = Callable[["Record"], None]


@dataclass(frozen=True)
class Record:
    """One started run: its backend, its id there, its labels and what the backend needs to
    kill it from another process (``data``: pids, cgroups, container names, ...)."""

    backend: str
    ident: str
    labels: Mapping[str, str]
    data: Mapping[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def to_json(self) -> str:
        body = {"backend": self.backend, "ident": self.ident, "labels": dict(self.labels)}
        return json.dumps({**body, "data": dict(self.data)}, indent=1)

    @classmethod
    def load(cls, path: Path) -> Record:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(raw["backend"], raw["ident"], raw["labels"], raw.get("data", {}), path)


_lock = threading.RLock()
_killers: dict[str, Killer] = {}
_records: dict[Path, Record] = {}
_session_dirs: dict[Path, int] = {}  # this session's directories → owner pid
_reaped_roots: set[Path] = set()
_shutting_down = False
_hooks_pid: int | None = None
_signals_checked = False
_previous_handlers: dict[int, Any] = {}


def register_killer(backend: str, kill: Killer) -> None:
    """Use ``kill`` for ``backend``'s records instead of importing its ``kill_record``."""
    with _lock:
        _killers[backend] = kill


def shutting_down() -> bool:
    """True once this session has started stopping everything (supervisors stop relaunching)."""
    return _shutting_down and _hooks_pid == os.getpid()


def sessions_dir(root: Path | None = None) -> Path:
    """``<root>/runtime/sessions`` (default: the current emulator root)."""
    return (root or emulator_root()) / "runtime" / "sessions"


def record(
    backend: str,
    ident: str,
    labels: Mapping[str, str],
    data: Mapping[str, Any] | None = None,
    *,
    root: Path | None = None,
) -> Record:
    """Write down one started run under ``root`` (default: the current emulator root).

    The first call for a root in this process reaps that root's dead sessions first, and the
    first call in the main thread installs the exit and SIGTERM hooks. Every call first makes
    sure the session's watchdog (:mod:`emulator.runtime.lifeline`) knows the root and backend,
    so the run dies with this process even when it is killed.
    """
    base = sessions_dir(root)
    _install_hooks()
    lifeline.bind(session_id(), base.parent.parent, backend)
    with _lock:
        first_use = base not in _reaped_roots
        _reaped_roots.add(base)
    if first_use:
        reap_dead_sessions(base.parent.parent)
    with _lock:
        if shutting_down():
            entry = Record(backend, ident, dict(labels), dict(data or {}))
            _kill(entry)
            return entry
        directory = _session_dir(base)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in ident)
        path = directory / f"{backend}-{safe}.json"
        entry = Record(backend, ident, dict(labels), dict(data or {}), path)
        _write_atomic(path, entry.to_json())
        _records[path] = entry
        return entry


def forget(entry: Record) -> None:
    """The run is gone and cleaned up: drop its record (idempotent)."""
    with _lock:
        if entry.path is not None:
            _records.pop(entry.path, None)
            entry.path.unlink(missing_ok=True)


def stop_session() -> None:
    """Kill everything this session recorded and remove its directories (atexit, SIGTERM)."""
    global _shutting_down
    with _lock:
        if _hooks_pid != os.getpid():
            return  # a forked child inherited the hooks: its parent's runs are not its own
        _shutting_down = True
        entries = list(_records.values())
        directories = [path for path, pid in _session_dirs.items() if pid == os.getpid()]
    for entry in entries:
        if _kill(entry):
            forget(entry)
    with _lock:
        for directory in directories:
            if not any(path.parent == directory for path in _records):
                shutil.rmtree(directory, ignore_errors=True)
                _session_dirs.pop(directory, None)


def reap_dead_sessions(root: Path | None = None) -> list[Record]:
    """Kill and forget the leftovers of dead sessions under ``root``; returns their records."""
    base = sessions_dir(root)
    if not base.is_dir():
        return []
    _restore_abandoned_claims(base)
    reaped: list[Record] = []
    for directory in sorted(base.iterdir()):
        if directory.name.startswith(".") or directory.name == session_id():
            continue
        info = _read_session(directory)
        if info is None or owner_alive(info):
            continue
        reaped.extend(_reap_directory(base, directory))
    if reaped:
        logger.info("Reaped %d run(s) left by dead sessions under %s", len(reaped), base)
    return reaped


def reap_session(root: Path, session: str) -> list[Record]:
    """Kill and forget what ``session`` recorded under ``root``, alive or not (its watchdog
    calls this once the session's host is gone, see :mod:`emulator.runtime.lifeline`)."""
    base = sessions_dir(root)
    directory = base / session
    return _reap_directory(base, directory) if directory.is_dir() else []


def _reap_directory(base: Path, directory: Path) -> list[Record]:
    """Claim one session's directory, kill its runs, remove it (kept with what failed)."""
    claimed = base / f"{_CLAIM}{os.getpid()}-{directory.name}"
    try:
        directory.rename(claimed)  # only one session reaps a dead one
    except OSError:
        return []
    reaped: list[Record] = []
    left = False
    for path in sorted(claimed.glob("*.json")):
        if path.name == SESSION_FILE:
            continue
        try:
            entry = Record.load(path)
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)
            continue
        if _kill(entry):
            path.unlink(missing_ok=True)
            reaped.append(entry)
        else:
            left = True
    if left:
        claimed.rename(directory)  # a later session retries what could not be killed
    else:
        shutil.rmtree(claimed, ignore_errors=True)
    return reaped


def process_start(pid: int) -> str | None:
    """An identity of a running process (boot id + start time), ``None`` if none or a zombie.

    Pids are reused; ``(pid, process_start(pid))`` is not. Without ``/proc`` the pid alone.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return f"pid:{pid}"
    if fields[0] in ("Z", "X"):
        return None
    return f"{_boot_id()}:{fields[19]}"


def owner_alive(info: Mapping[str, Any]) -> bool:
    """Whether the session described by ``session.json`` content still runs (or may: other host)."""
    if info.get("host") != socket.gethostname():
        return True
    if info.get("boot") != _boot_id():
        return False
    return process_start(int(info["pid"])) == info.get("start")


def _kill(entry: Record) -> bool:
    """Run the backend's killer; False (record kept) when it is unknown or fails."""
    with _lock:
        kill = _killers.get(entry.backend)
    if kill is None:
        module_name = BACKEND_MODULES.get(entry.backend)
        try:
            kill = importlib.import_module(module_name or "").kill_record
        except (ImportError, AttributeError, ValueError) as exc:
            logger.warning("Cannot clean up %s %s: %s", entry.backend, entry.ident, exc)
            return False
    try:
        kill(entry)
    except Exception:
        logger.warning("Cleaning up %s %s failed", entry.backend, entry.ident, exc_info=True)
        return False
    return True


def _session_dir(base: Path) -> Path:
    directory = base / session_id()
    if directory not in _session_dirs:
        if not directory.is_dir():
            pid = os.getpid()
            info = {
                "session": session_id(),
                "pid": pid,
                "start": process_start(pid),
                "host": socket.gethostname(),
                "boot": _boot_id(),
                "created": time.time(),
            }
            temp = base / f".{session_id()}.{uuid.uuid4().hex[:8]}.tmp"
            temp.mkdir(parents=True)
            _write_atomic(temp / SESSION_FILE, json.dumps(info, indent=1))
            temp.rename(directory)
        _session_dirs[directory] = os.getpid()
    return directory


def _read_session(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / SESSION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "pid" in data else None


def _restore_abandoned_claims(base: Path) -> None:
    """Put back dead sessions whose reaper died mid-way; drop stale half-created directories."""
    for entry in base.iterdir():
        if entry.name.startswith(_CLAIM):
            claimer, _, original = entry.name[len(_CLAIM) :].partition("-")
            if claimer.isdigit() and process_start(int(claimer)) is None:
                with contextlib.suppress(OSError):
                    entry.rename(base / original)
        elif entry.name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                if time.time() - entry.stat().st_mtime > _STALE_TEMP_SECONDS:
                    shutil.rmtree(entry, ignore_errors=True)


def _write_atomic(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    temp.write_text(text, encoding="utf-8")
    temp.replace(path)


@functools.cache
def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return "unknown"


def _install_hooks() -> None:
    """``atexit`` once per process; the signal handlers once, from the main thread."""
    global _hooks_pid, _signals_checked
    with _lock:
        if _hooks_pid != os.getpid():
            _hooks_pid = os.getpid()
            atexit.register(stop_session)
        if _signals_checked or threading.current_thread() is not threading.main_thread():
            return  # done (a forked child inherits the handlers), or not allowed here
        _signals_checked = True
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(signum)
            if previous is None:
                previous = signal.SIG_DFL  # set outside Python: the default is as good a guess
            # SIGTERM always (its default ends the process without atexit). SIGINT only when
            # it would do the same: Python's own handler raises KeyboardInterrupt, which ends
            # the program through atexit, or is caught (a REPL, a notebook) and changes nothing.
            if previous is _on_signal or previous == signal.SIG_IGN:
                continue
            if signum == signal.SIGINT and previous != signal.SIG_DFL:
                continue
            _previous_handlers[signum] = previous
            signal.signal(signum, _on_signal)


def _forget_parent_session() -> None:
    """In a forked child: the parent's runs and directories are the parent's to clean up."""
    global _lock, _shutting_down
    _lock = threading.RLock()  # another thread may have held it at the fork
    _records.clear()
    _reaped_roots.clear()
    _shutting_down = False


os.register_at_fork(after_in_child=_forget_parent_session)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    stop_session()
    previous = _previous_handlers.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
