"""A session's replicas die with it, however it ends: a watchdog process per session, holding
the read end of a pipe whose only write end is the session's (testcontainers' Ryuk, for
processes and containers alike).

Why a watchdog: ``atexit`` and signal handlers never run when the host is killed (SIGKILL, an
out-of-memory kill, ``os._exit``), and a default SIGTERM skips them too; the reaper
(:mod:`emulator.runtime.reaper`) then only cleans up at the next start in the same root, which
may never come. A parent-death signal (``PR_SET_PDEATHSIG``) is no answer: it fires when the
*thread* that forked exits (replicas are started and restarted from short-lived threads), it
reaches one process and not the server's workers, and it cannot reach a Docker container.

How: the first run the reaper records starts the watchdog (:func:`main`, with the session id
and the host's pid) in its own process session, its stdin a pipe whose write end only the host
holds (close-on-exec, closed in forked children). The host writes one line per fact the watchdog
needs: ``root <path>`` (where the session's records are) and ``backend <name>``. The watchdog
blocks reading; end of file means the host's last file descriptor closed, i.e. the host is
gone, whatever killed it. It then does what the host's exit would have done: kills every run
recorded under the session's directory in each root (the reaper's killers: the process group,
cgroups, containers), every process still carrying the session's label (a run started but not
yet recorded), and every container labelled with the session. After a clean exit all of that is
already gone, and the watchdog simply exits.

A watchdog that dies while its host lives is started again at the next record, with every fact
repeated. The watchdog's environment carries :data:`WATCHDOG_ENV` = the session it guards, so
checks for leftover processes can tell it apart (it ends right after its host).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

logger = logging.getLogger("azureml.emulator.runtime")

#: Set in the watchdog's environment to the session id it guards.
WATCHDOG_ENV = "AMLEMU_LIFELINE_SESSION"
#: Line kinds of the pipe protocol.
_ROOT = "root"
_BACKEND = "backend"

#: ``-c`` rather than ``-m``: ``emulator.runtime`` imports this module, and running an imported
#: module as ``__main__`` would load it twice.
_WATCHDOG_CODE = (
    "import sys; from emulator.runtime.lifeline import main; sys.exit(main(sys.argv[1:]))"
)

_lock = threading.Lock()
_watchdog: subprocess.Popen[bytes] | None = None
_facts: list[str] = []


def bind(session: str, root: Path, backend: str) -> None:
    """Make sure this session's watchdog runs and knows ``root`` and ``backend``.

    Called before a run is started; never raises (without a watchdog, the reaper still cleans
    up at the next start), but logs why the binding failed.
    """
    global _watchdog
    facts = [f"{_ROOT} {root.absolute()}", f"{_BACKEND} {backend}"]
    with _lock:
        new = [fact for fact in facts if fact not in _facts]
        _facts.extend(new)
        current = _watchdog
        if current is not None and current.poll() is None and (not new or _send(current, new)):
            return
        # None yet, or it died (killed by someone): a new one, told everything.
        try:
            _watchdog = _start(session)
        except OSError as exc:
            _watchdog = None
            logger.warning(
                "Cannot start the watchdog that stops this session's replicas if it is "
                "killed (%s); they are reaped at the next start instead.",
                exc,
            )
            return
        _send(_watchdog, _facts)


def watchdog_pid() -> int | None:
    """The pid of this session's watchdog, if one runs."""
    with _lock:
        if _watchdog is None or _watchdog.poll() is not None:
            return None
        return _watchdog.pid


def _start(session: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, WATCHDOG_ENV: session}
    return subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG_CODE, session, str(os.getpid())],
        stdin=subprocess.PIPE,  # close-on-exec in the host: no other program inherits it
        stdout=subprocess.DEVNULL,
        env=env,
        cwd="/",  # ``-c`` imports from the working directory first: not from the user's
        start_new_session=True,  # Ctrl-C or a signal to the host's process group spares it
    )


def _send(watchdog: subprocess.Popen[bytes], facts: Sequence[str]) -> bool:
    """Write ``facts``, one per line; False when the watchdog is gone."""
    stream: IO[bytes] | None = watchdog.stdin
    if stream is None:
        return False
    try:
        stream.write("".join(f"{fact}\n" for fact in facts).encode("utf-8", "surrogateescape"))
        stream.flush()
    except (BrokenPipeError, ValueError, OSError):
        return False
    return True


def _forget_in_child() -> None:
    """A forked child must not hold the write end: the watchdog would outwait the host."""
    global _lock, _watchdog
    _lock = threading.Lock()
    if _watchdog is not None and _watchdog.stdin is not None:
        with contextlib.suppress(OSError, ValueError):
            _watchdog.stdin.close()  # through the file object: it never closes the fd again
    _watchdog = None
    _facts.clear()


os.register_at_fork(after_in_child=_forget_in_child)


# -- the watchdog process ------------------------------------------------------------------------


def watch(session: str, host_pid: int, stream: IO[bytes]) -> None:
    """Read facts until end of file (the host is gone), then stop what the session left."""
    roots: list[Path] = []
    backends: set[str] = set()
    for raw in stream:
        kind, _, value = raw.decode("utf-8", "surrogateescape").rstrip("\n").partition(" ")
        if kind == _ROOT and Path(value) not in roots:
            roots.append(Path(value))
        elif kind == _BACKEND:
            backends.add(value)
    cleanup(session, roots, backends)
    logger.debug("Watchdog of session %s (host pid %d) done", session, host_pid)


def cleanup(session: str, roots: Sequence[Path], backends: set[str]) -> None:
    """Stop everything ``session`` started: its records in ``roots``, then anything labelled."""
    from emulator.runtime import reaper
    from emulator.runtime.backends.process import processes_with_env
    from emulator.runtime.labels import SESSION, env_name

    for root in roots:
        reaper.reap_session(root, session)
    for pid in processes_with_env(env_name(SESSION), session):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    if "docker" in backends:
        from emulator.exceptions import EmulatorError
        from emulator.runtime.backends.docker import remove_containers

        try:
            remove_containers({SESSION: session})
        except EmulatorError as exc:
            logger.warning("Cannot remove the containers of session %s: %s", session, exc)


def main(argv: Sequence[str]) -> int:
    """The watchdog process: ``argv`` is ``[session id, host pid]``; stdin is the pipe."""
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: lifeline.main([SESSION, HOST_PID])", file=sys.stderr)
        return 2
    # Terminal signals are the host's business; this process must outlive the host.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="amlemu watchdog: %(message)s")
    watch(argv[0], int(argv[1]), sys.stdin.buffer)
    return 0
