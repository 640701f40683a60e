"""Warm starts: replicas forked from a prepared interpreter (a zygote) of their image's environment.

A cold replica starts two interpreters (the server, then its worker) and imports the emulator
and the script's packages in each before ``init()``; with scikit-learn that is most of a
deployment's time. A zygote is the image's interpreter with the server and the entry script's
third-party packages already imported (:mod:`emulator.runtime.zygote_main`, found statically
by :mod:`emulator.runtime.imports`); a replica's server is forked from it and forks its workers
in turn, so a deployment pays for the script's own import and ``init()`` only.

Where the zygotes live: in the process that deploys (the session), one per *key*, started by
the first launch that needs it and kept for the next ones (at most :data:`MAX_ZYGOTES`, the
least recently used one is stopped). They are recorded with the reaper like any run (stopped
at exit, reaped by the next session when this one was killed) and carry the session's label
(the lifeline kills them with the host); a zygote also ends when its socket with the host
closes, and its replicas' servers die with it.

The key: a zygote is shared by replicas whose interpreter, script candidates and
*import-relevant* environment are equal (:mod:`emulator.runtime.zygote_key` says which
variables are import-relevant, and why).

A cold start is used instead, with the reason written to the replica's log, when warm starts
are off (``AZUREML_EMULATOR_WARM_START=0``), the image has no entry script, the interpreter
cannot fork workers (no ``os.pidfd_open``), the zygote cannot start or died, importing the
packages started a Python thread (a fork would lose it), the fork fails, or the zygote does
not answer a launch within :data:`LAUNCH_TIMEOUT_S` (a replica it forks later is killed). A
zygote whose messages the host cannot read is closed (its launches go cold, its replicas read
as killed and are restarted by their supervisors): nothing waits on it forever.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.images.builders.local import LocalImage
from emulator.runtime import reaper
from emulator.runtime.imports import import_candidates, model_candidates
from emulator.runtime.labels import OWNER_PID, SESSION, label_environment, session_id
from emulator.runtime.zygote_key import import_environment, key_environment
from emulator.runtime.zygote_main import CODE, PAD_ENV
from emulator.server import config as server_config
from emulator.settings import emulator_root

#: Zygotes kept per session (each holds its packages' memory, shared with its replicas).
MAX_ZYGOTES = 4
#: How long a new zygote may take to import its packages before launches go cold.
READY_TIMEOUT_S = 300.0
#: How long a launch waits for the zygote's answer (a fork and a message) before going cold.
LAUNCH_TIMEOUT_S = 60.0
#: Room reserved for a replica's environment in the zygote's initial environment block, on top
#: of twice the zygote's own (the replica adds its per-replica variables).
_PAD_BYTES = 16 * 1024
logger = logging.getLogger("azureml.emulator.runtime")
#: Exit code reported for a replica whose zygote died (its server got SIGKILL with it).
_KILLED = 128 + 9


class Refused(Exception):
    """This replica cannot start warm; the message says why (it is logged, then started cold)."""


@dataclass(frozen=True)
class Request:
    """One replica to fork: what ``zygote_main`` applies in the child."""

    environment: Mapping[str, str]
    cwd: str
    log_path: Path
    confinement: str
    args: Sequence[str]
    #: A file run as ``__main__`` with ``args`` as its argv instead of the server (batch
    #: workers); its stderr to ``stderr_path`` when given, ``fds`` become its 3, 4, ...
    main: str | None = None
    stderr_path: Path | None = None
    fds: Sequence[int] = ()


class Zygote:
    """One zygote process and the host's end of its socket (a reader thread takes its news)."""

    def __init__(self, python: str, environment: Mapping[str, str], candidates: Sequence[str]):
        ours, theirs = socket.socketpair()
        self.log_path = emulator_root() / "runtime" / "zygotes" / f"{session_id()}-{id(self)}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        labels = {SESSION: session_id(), OWNER_PID: str(os.getpid())}
        size = sum(len(key) + len(value) + 2 for key, value in environment.items())
        env = {**environment, **label_environment(labels), PAD_ENV: "x" * (_PAD_BYTES + 2 * size)}
        try:
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    [python, "-c", CODE, str(theirs.fileno()), json.dumps(list(candidates))],
                    pass_fds=(theirs.fileno(),),
                    env=env,
                    cwd="/",  # no app's folder: ``-c`` would import from it first
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()
        try:
            data = {"pid": self.process.pid, "start": reaper.process_start(self.process.pid)}
            self.record = reaper.record("process", str(self.process.pid), labels, data)
        except BaseException:  # unrecorded, it would outlive a killed session: end it now
            ours.close()
            self.process.kill()
            self.process.wait()
            raise
        self._socket = ours
        self._send_lock = threading.Lock()
        self._changed = threading.Condition()
        self._ready: dict[str, Any] | None = None
        self._answers: dict[int, dict[str, Any]] = {}
        self._exits: dict[int, int] = {}
        self._children: set[int] = set()
        self._closed = False
        self._retired = False
        self._next_id = 0
        #: Launches that gave up waiting for their answer (their replica is killed on arrival).
        self._abandoned: set[int] = set()
        threading.Thread(target=self._read, name="amlemu-zygote", daemon=True).start()

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Block until the packages are imported; raises :class:`Refused` when it fails."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._ready is None and not self._closed:
                if not self._changed.wait(max(0.0, deadline - time.monotonic())):
                    raise Refused(f"the warm interpreter took over {timeout:.0f} s to import")
        if self._ready is None:
            code = self.process.poll()
            raise Refused(
                f"the warm interpreter exited (code {code}) while importing the script's "
                f"packages; see {self.log_path}"
            )
        threads = self._ready.get("threads") or []
        if threads:
            raise Refused(
                f"importing the script's packages started Python threads ({', '.join(threads)}),"
                " which a forked replica would not have"
            )

    def launch(self, request: Request) -> int:
        """Fork a replica; its pid. Raises :class:`Refused`."""
        self.wait_ready()
        with self._changed:
            self._next_id += 1
            ident = self._next_id
        message: dict[str, Any] = {
            "op": "launch",
            "id": ident,
            "env": dict(request.environment),
            "cwd": request.cwd,
            "log": str(request.log_path),
            "confinement": request.confinement,
            "args": list(request.args),
        }
        if request.main is not None:
            message["main"] = request.main
        if request.fds:
            message["fds"] = len(request.fds)
        if request.stderr_path is not None:
            message["stderr"] = str(request.stderr_path)
        self._send(message, request.fds)
        deadline = time.monotonic() + LAUNCH_TIMEOUT_S
        with self._changed:
            while ident not in self._answers and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    # A late answer's replica is not ours: it must not serve unsupervised.
                    self._abandoned.add(ident)
                    raise Refused(
                        f"the warm interpreter did not answer within {LAUNCH_TIMEOUT_S:g} s;"
                        f" see {self.log_path}"
                    )
                self._changed.wait(remaining)
            answer = self._answers.pop(ident, None)
            if answer is None:
                raise Refused(f"the warm interpreter exited; see {self.log_path}")
            if answer["op"] == "refused":
                raise Refused(str(answer["reason"]))
            pid = int(answer["pid"])
            self._children.add(pid)
            return pid

    def signal(self, pid: int, signum: int, group: bool = False) -> None:
        """Signal a replica's server (``group``: its process group) unless it was reaped."""
        self._send({"op": "signal", "pid": pid, "sig": int(signum), "group": group})

    def exit_code(self, pid: int, timeout: float | None = 0.0) -> int | None:
        """The replica's exit code (Docker's numbering) once it ended; None while it runs."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while pid not in self._exits:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._changed.wait(remaining)
            return self._exits[pid]

    @property
    def alive(self) -> bool:
        return not self._closed and self.process.poll() is None

    def forget_in_child(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.close()

    def retire(self) -> None:
        """No more launches: end once the replicas forked from it have ended (they would die
        with it)."""
        with self._changed:
            self._retired = True
            self._end_if_retired()

    def _end_if_retired(self) -> None:
        if self._retired and all(pid in self._exits for pid in self._children):
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)  # the zygote exits at end of file

    def stop(self) -> None:
        """End the zygote (its replicas' servers die with it)."""
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        reaper.forget(self.record)

    def _send(self, message: Mapping[str, Any], fds: Sequence[int] = ()) -> None:
        data = json.dumps(message).encode() + b"\n"
        with self._send_lock:
            try:
                if fds:  # with the message's first bytes (the zygote keeps them in order)
                    data = data[socket.send_fds(self._socket, [data], list(fds)) :]
                self._socket.sendall(data)
            except OSError as exc:
                raise Refused(f"the warm interpreter is gone ({exc})") from exc

    def _read(self) -> None:
        """Take the zygote's messages until its socket closes; whatever ends this (end of
        file, a broken socket, a message it cannot read) closes the zygote, so no launch or
        reap waits for news that will never come."""
        buffer = b""
        try:
            while data := self._socket.recv(65536):
                buffer += data
                while b"\n" in buffer:
                    line, _, buffer = buffer.partition(b"\n")
                    self._take(json.loads(line))
        except OSError:
            pass
        except Exception:
            logger.exception("Stopped reading the warm interpreter %s", self.process.pid)
        finally:
            self._close()

    def _close(self) -> None:
        """Mark it closed (waiters get :class:`Refused`, replicas read as killed) and end it:
        its replicas' servers die with it."""
        with self._changed:
            self._closed = True
            for pid in self._children:
                self._exits.setdefault(pid, _KILLED)
            self._changed.notify_all()
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)  # the zygote exits at end of file
        self._socket.close()
        reaper.forget(self.record)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        except ChildProcessError:
            pass

    def _take(self, message: dict[str, Any]) -> None:
        with self._changed:
            op = message.get("op")
            if op == "ready":
                self._ready = message
            elif op in ("launched", "refused"):
                ident = int(message["id"])
                if ident in self._abandoned:  # its launch gave up waiting (started cold)
                    self._abandoned.discard(ident)
                    if op == "launched":
                        self._children.add(int(message["pid"]))
                        with contextlib.suppress(Refused):
                            self.signal(int(message["pid"]), signal.SIGKILL, group=True)
                else:
                    self._answers[ident] = message
            elif op == "exit":
                self._exits[int(message["pid"])] = int(message["code"])
                self._end_if_retired()
            self._changed.notify_all()


class ZygoteLeader:
    """A warm replica's server as the process backend's launch sees it (its zygote is the
    parent: it signals the server and reports how it ended)."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.zygote = zygote
        self.pid = pid

    def exited(self) -> bool:
        return self.zygote.exit_code(self.pid) is not None

    def signal(self, signum: int, group: bool = False) -> None:
        with contextlib.suppress(Refused):
            self.zygote.signal(self.pid, signum, group)

    def reap(self) -> int:
        code = self.zygote.exit_code(self.pid, timeout=None)
        assert code is not None
        return code


def start(
    image: LocalImage,
    environment: Mapping[str, str],
    confinement: str,
    log_path: Path,
    args: Sequence[str],
) -> ZygoteLeader:
    """Fork a replica of ``image`` (its server run with ``args``) from this session's zygote
    for it; raises :class:`Refused` (start it cold)."""
    entry = environment.get(server_config.ENTRY_SCRIPT)
    if not entry:
        raise Refused(f"the image sets no {server_config.ENTRY_SCRIPT}")
    app_root = Path(environment.get(server_config.APP_ROOT) or image.app_root)
    roots = [app_root]
    source_dir = environment.get(server_config.SOURCE_DIR)
    if source_dir:
        roots.append(app_root / source_dir)
    candidates = import_candidates(app_root / entry, roots)
    model_dir = environment.get(server_config.MODEL_DIR)
    if model_dir:
        candidates += [m for m in model_candidates(app_root / model_dir) if m not in candidates]
    zygote = zygote_for(str(image.python), environment, candidates)
    request = Request(environment, str(image.app_root), log_path, confinement, args)
    return ZygoteLeader(zygote, zygote.launch(request))


_lock = threading.Lock()
_zygotes: OrderedDict[tuple[Any, ...], Zygote] = OrderedDict()
#: Every zygote still referenced (retired ones live on with their replicas' launches).
_started: weakref.WeakSet[Zygote] = weakref.WeakSet()


def zygote_for(python: str, environment: Mapping[str, str], candidates: Sequence[str]) -> Zygote:
    """This session's zygote for the key, started when there is none (or it died)."""
    wanted = import_environment(environment)
    key = (python, key_environment(environment), tuple(candidates))
    retired: list[Zygote] = []
    with _lock:
        zygote = _zygotes.get(key)
        if zygote is not None and not zygote.alive:
            retired.append(_zygotes.pop(key))
            zygote = None
        if zygote is None:
            try:
                zygote = Zygote(python, wanted, candidates)
            except OSError as exc:
                raise Refused(f"the warm interpreter cannot start: {exc}") from exc
            _zygotes[key] = zygote
            _started.add(zygote)
            while len(_zygotes) > MAX_ZYGOTES:
                retired.append(_zygotes.popitem(last=False)[1])
        _zygotes.move_to_end(key)
    for old in retired:
        old.retire()
    return zygote


def stop_all() -> None:
    """Stop this session's zygotes and the replicas forked from them (the reaper does it at
    exit)."""
    with _lock:
        zygotes = list(_zygotes.values())
        _zygotes.clear()
    for zygote in zygotes:
        zygote.stop()


def _forget_in_child() -> None:
    """A forked child of the host does not own its parent's zygotes, and must not hold their
    sockets open: a zygote ends when the host's end closes."""
    global _lock
    _lock = threading.Lock()
    for zygote in list(_started):
        zygote.forget_in_child()
    _zygotes.clear()


os.register_at_fork(after_in_child=_forget_in_child)
