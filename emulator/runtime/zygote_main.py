"""The zygote process: an image's interpreter that imported the server and a script's heavy
third-party modules once, and forks a replica's scoring server from that state on request.

Run in the image's interpreter by :mod:`emulator.runtime.zygote` (the host side, which says why
and when) as ``python -c CODE FD MODULES_JSON``: ``FD`` is its end of a socket pair with the
host; ``MODULES_JSON`` the dotted names the host found in the entry script and its source
directory. Only names that resolve into ``site-packages``/``dist-packages`` are imported (never
the user's own modules, never the ``azureml`` names the shim answers); one that fails to import
is skipped (the replica imports it itself and fails, or not, as a fresh one would).

Every message is one JSON object per line. The host sends ``launch`` (a replica's environment,
working directory, log file, limits, command line) and ``signal``; the zygote answers
``ready``, ``launched`` (the pid) or ``refused`` (why: the host starts that replica cold), and
reports each replica's end (``exit``, the exit code as Docker reports it). It is the replicas'
parent, so it reaps them: when one's server exits it first kills what is left in its process
group (its workers), as the process backend does, then reaps it. It never starts a thread: a
fork copies only the thread that calls it. It ends when the host's end closes (the host exited,
however it died), killing its replicas' process groups first; a replica's server dies with
the zygote (``PR_SET_PDEATHSIG``), its workers then with their server's socket.

A replica's process (:func:`_become_replica`) leaves the zygote's session and process group,
joins its own cgroups and rlimits, sends stdout and stderr to its log, takes its working
directory and its environment (also what ``/proc/<pid>/environ`` shows: the zygote's copy
of the initial environment is overwritten, the zygote having been started with room for it),
and runs the server's ``serve`` command, its workers forked from it.

A launch may instead name a ``main`` file, run as ``__main__`` with ``argv`` as a cold
``python FILE ARGV...`` would (batch workers, :mod:`emulator.batch.warm`): its stderr may go to a
file of its own (``stderr``), and the ``fds`` descriptors sent with the message (SCM_RIGHTS) are
the replica's descriptors 3, 4, ... (its pipes), every other inherited one closed.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib
import importlib.util
import json
import os
import selectors
import signal
import socket
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any

#: The variable that reserves room in the zygote's initial environment block (its value is
#: padding): a replica writes its own, longer, environment there.
PAD_ENV = "AMLEMU_ZYGOTE_PAD"
#: Where third-party packages live; anything else (the app, its source directory, the
#: standard library) is never imported ahead.
_THIRD_PARTY = ("site-packages", "dist-packages")
#: Names the emulator's shim answers inside a worker, and the emulator itself (imported anyway).
_NOT_AHEAD = ("azureml", "azureml_inference_server_http", "emulator")
_PR_SET_PDEATHSIG = 1
_CONFINE_FAILED = 126


#: ``python -c CODE FD MODULES_JSON``: this file loaded by path, as a module of its own, so that
#: ``emulator.runtime`` (the host's side: supervision, probes, HTTP clients) is never imported
#: into the zygote and so into every replica; only what a cold replica has is.
CODE = (
    "import importlib.util as u, os, sys\n"
    "path = os.path.join(os.path.dirname(u.find_spec('emulator').origin), 'runtime', "
    "'zygote_main.py')\n"
    "spec = u.spec_from_file_location('amlemu_zygote', path)\n"
    "module = u.module_from_spec(spec)\n"
    "spec.loader.exec_module(module)\n"
    "sys.exit(module.main(sys.argv[1:]))\n"
)


def main(argv: Sequence[str]) -> int:
    """``argv``: ``[FD, MODULES_JSON]``. Serves until the host's end closes."""
    channel = socket.socket(fileno=int(argv[0]))
    channel.setblocking(True)
    if sys.path and sys.path[0] == "":  # ``-c``: the zygote's working directory is no app's
        del sys.path[0]
    # The server and its workers, imported once, here; and what a replica applies to itself.
    import emulator.server.command
    import emulator.server.worker  # noqa: F401

    _limits()

    imported, skipped = preload(json.loads(argv[1]))
    threads = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    _send(channel, {"op": "ready", "imported": imported, "skipped": skipped, "threads": threads})
    return _serve(channel, refusal=_thread_refusal(threads))


def preload(candidates: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Import the third-party modules among ``candidates`` (``pkg.mod``, or ``pkg.mod:name``
    for ``from pkg.mod import name``); returns (imported, {skipped: why})."""
    imported: list[str] = []
    skipped: dict[str, str] = {}
    for candidate in candidates:
        module, _, name = candidate.partition(":")
        top = module.partition(".")[0]
        if top in _NOT_AHEAD or not _third_party(top):
            continue  # the standard library, the shim's names, or not from site-packages
        try:
            loaded = importlib.import_module(module)
            if name and not hasattr(loaded, name):  # what ``from module import name`` does
                with contextlib.suppress(ModuleNotFoundError):
                    importlib.import_module(f"{module}.{name}")
        except Exception as exc:  # the replica imports it itself, and reports what it reports
            skipped[candidate] = f"{type(exc).__name__}: {exc}"
            continue
        imported.append(candidate)
    return imported, skipped


def _third_party(top: str) -> bool:
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    origin = _origin(spec)
    return origin is not None and any(part in _THIRD_PARTY for part in origin.split(os.sep))


def _origin(spec: Any) -> str | None:
    if spec is None:
        return None
    if spec.origin and spec.origin not in ("built-in", "frozen"):
        return str(spec.origin)
    locations = list(spec.submodule_search_locations or ())
    return str(locations[0]) if locations else None


def _thread_refusal(threads: Sequence[str]) -> str | None:
    if not threads:
        return None
    return (
        f"importing the script's packages started Python threads ({', '.join(threads)}), "
        "which a forked replica would not have"
    )


class _Zygote:
    """The serving loop's state: the live replicas (pid → nothing reaped yet)."""

    def __init__(self, channel: socket.socket, refusal: str | None) -> None:
        self.channel = channel
        self.refusal = refusal
        self.children: set[int] = set()
        self.buffer = b""
        #: Descriptors received with launches not handled yet (each launch says how many).
        self.fds: list[int] = []

    def handle(self, message: Mapping[str, Any]) -> None:
        op = message.get("op")
        if op == "launch":
            self.launch(message)
        elif op == "signal":
            pid = int(message["pid"])
            if pid in self.children:  # never signal a pid this zygote already reaped
                signum = int(message["sig"])
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signum)  # also before its setsid(), when it has no group yet
                if message.get("group"):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(pid, signum)

    def launch(self, message: Mapping[str, Any]) -> None:
        ident = message["id"]
        count = int(message.get("fds", 0))
        passed, self.fds = self.fds[:count], self.fds[count:]
        try:
            if self.refusal is not None:
                _send(self.channel, {"op": "refused", "id": ident, "reason": self.refusal})
                return
            if len(passed) < count:
                reason = "the launch's descriptors did not arrive"
                _send(self.channel, {"op": "refused", "id": ident, "reason": reason})
                return
            sys.stdout.flush()
            sys.stderr.flush()
            try:
                pid = os.fork()
            except OSError as exc:
                reason = f"fork failed: {exc}"
                _send(self.channel, {"op": "refused", "id": ident, "reason": reason})
                return
            if pid == 0:
                code = 1
                try:
                    code = _become_replica(message, self.channel, passed)
                finally:
                    os._exit(code)
        finally:
            for fd in passed:  # the child has its copies; the host's end must see them close
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.children.add(pid)
        _send(self.channel, {"op": "launched", "id": ident, "pid": pid})

    def reap(self) -> None:
        """Report each replica whose server exited: its group's stragglers killed, reaped."""
        for pid in list(self.children):
            try:
                info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                info = None
                self.children.discard(pid)
                continue
            if info is None:
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)  # still a zombie: its group id is not reused
            _, status = os.waitpid(pid, 0)
            self.children.discard(pid)
            code = os.waitstatus_to_exitcode(status)
            _send(
                self.channel, {"op": "exit", "pid": pid, "code": code if code >= 0 else 128 - code}
            )

    def stop_all(self) -> None:
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        for pid in self.children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _serve(channel: socket.socket, refusal: str | None) -> int:
    zygote = _Zygote(channel, refusal)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the host's business
    selector = selectors.DefaultSelector()
    selector.register(channel, selectors.EVENT_READ)
    selector.register(wake_read, selectors.EVENT_READ)
    try:
        while True:
            for key, _ in selector.select():
                if key.fileobj == wake_read:
                    with contextlib.suppress(BlockingIOError):
                        os.read(wake_read, 512)
                    zygote.reap()
                    continue
                data, fds = _receive(channel)
                zygote.fds.extend(fds)
                if not data:
                    return 0
                zygote.buffer += data
                while b"\n" in zygote.buffer:
                    line, _, zygote.buffer = zygote.buffer.partition(b"\n")
                    zygote.handle(json.loads(line))
            zygote.reap()
    finally:
        zygote.stop_all()


def _receive(channel: socket.socket) -> tuple[bytes, list[int]]:
    """The next bytes from the host, and the descriptors sent with them (a launch's)."""
    if not hasattr(socket, "recv_fds"):  # Python < 3.9: launches pass no descriptors
        return channel.recv(65536), []
    data, fds, _, _ = socket.recv_fds(channel, 65536, 16)
    return data, list(fds)


def _send(channel: socket.socket, message: Mapping[str, Any]) -> None:
    with contextlib.suppress(OSError):
        channel.sendall(json.dumps(message).encode() + b"\n")


# -- in the forked replica -----------------------------------------------------------------------


def _become_replica(
    message: Mapping[str, Any], channel: socket.socket, passed: Sequence[int] = ()
) -> int:
    """Turn this fork into the replica's server process, then serve (or run its ``main``
    file); the exit code."""
    zygote_pid = os.getppid()
    os.setsid()
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != zygote_pid:
        return 128 + signal.SIGKILL  # the zygote died between the fork and here
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a fresh interpreter
    channel.close()
    log = os.open(message["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    err = log
    if message.get("stderr"):
        err = os.open(message["stderr"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(err, 2)
    for fd in {null, log, err}:
        os.close(fd)
    _close_inherited_fds(_place_fds(passed))
    try:
        _limits().Confinement.from_json(message["confinement"]).apply()
    except (OSError, ValueError) as exc:  # the words of limits.py's cold start
        print(f"[emulator] cannot apply the container's resource limits: {exc}", file=sys.stderr)
        return _CONFINE_FAILED
    import gc

    from emulator.server.forked import mark_from_zygote, reseed

    gc.freeze()  # the zygote's objects stay shared, and none closes a descriptor reused here
    reseed()
    cwd = str(message["cwd"])
    os.chdir(cwd)
    environment = dict(message["env"])
    _own_python_tree(os.environ.get("PYTHONPATH", ""), environment.get("PYTHONPATH", ""))
    os.environ.clear()
    os.environ.update(environment)
    _rewrite_initial_environment(environment)
    if message.get("main"):
        return _run_main(str(message["main"]), [str(item) for item in message["args"]])
    sys.path.insert(0, cwd)  # what ``python -m emulator`` puts first: the working directory
    from emulator.server.command import add_arguments, serve

    arguments = [str(item) for item in message["args"]]  # ["serve", "--port", "N"]
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # emulator/
    sys.argv = [os.path.join(package, "__main__.py"), *arguments]  # as ``python -m emulator``
    parser = argparse.ArgumentParser(prog="amlemu serve")
    add_arguments(parser)
    mark_from_zygote()
    return serve(parser.parse_args(arguments[1:]))


def _own_python_tree(zygote: str, replica: str) -> None:
    """The replica's ``PYTHONPATH`` entries on ``sys.path`` instead of the zygote's (another
    image's copy of the same tree: what imports later, imports from the replica's own)."""
    pairs = dict(zip(zygote.split(os.pathsep), replica.split(os.pathsep), strict=False))
    sys.path[:] = [pairs.get(entry, entry) for entry in sys.path]


def _limits() -> Any:
    """``emulator/runtime/limits.py`` (standard library only), loaded by path like this file."""
    loaded = sys.modules.get("amlemu_zygote_limits")
    if loaded is None:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "limits.py")
        spec = importlib.util.spec_from_file_location("amlemu_zygote_limits", path)
        assert spec is not None and spec.loader is not None
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = loaded  # dataclasses look their module up while defining
        spec.loader.exec_module(loaded)
    return loaded


def _close_inherited_fds(passed: Sequence[int] = ()) -> None:
    """What a fresh process would not have: the zygote's pipes and sockets (0-2 kept); the
    launch's ``passed`` descriptors become 3, 4, ... (what ``Popen(pass_fds=...)`` gave)."""
    for entry in os.listdir("/proc/self/fd"):
        fd = int(entry)
        if fd > 2 and fd not in passed:
            with contextlib.suppress(OSError):
                os.close(fd)
    for index, fd in enumerate(passed):
        os.dup2(fd, 3 + index)  # inheritable, as pass_fds makes them
        os.close(fd)


def _place_fds(passed: Sequence[int]) -> list[int]:
    """Copies of ``passed`` numbered above 3 + len(passed), so that placing them at 3, 4, ...
    overwrites none of them."""
    import fcntl

    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD, 3 + len(passed)) for fd in passed]
    for fd in passed:
        os.close(fd)
    return moved


def _run_main(path: str, argv: Sequence[str]) -> int:
    """Run ``path`` as ``__main__`` with ``argv``, as ``python PATH ARGV...`` does (its
    ``sys.path`` that of the zygote: no app folder first); the exit code."""
    import atexit
    import runpy
    import traceback

    sys.argv = [path, *argv]
    try:
        runpy.run_path(path, run_name="__main__")
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:  # what the interpreter prints for an uncaught exception
        traceback.print_exc()
        code = 1
    # What the interpreter does at exit before os._exit skips the rest: wait for the
    # non-daemon threads, run the atexit functions (the user's, and those of the packages a
    # cold process would have imported too).
    with contextlib.suppress(Exception):
        threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    return code


def _rewrite_initial_environment(environment: Mapping[str, str]) -> None:
    """Make ``/proc/self/environ`` list ``environment`` (tools and the reaper read it there).

    The kernel shows the bytes between ``env_start`` and ``env_end`` of this process; nothing
    points into them any more (``os.environ.clear()`` removed every entry of C's ``environ``),
    so they are overwritten in place, NUL-padded. When the zygote's padding is too small the
    file keeps the zygote's environment (children still get the replica's).
    """
    try:
        with open("/proc/self/stat", "rb") as handle:
            fields = handle.read().rpartition(b")")[2].split()
        start, end = int(fields[47]), int(fields[48])  # env_start, env_end: fields 50, 51
    except (OSError, ValueError, IndexError):
        return
    block = b"".join(
        f"{key}={value}".encode("utf-8", "surrogateescape") + b"\0"
        for key, value in environment.items()
    )
    size = end - start
    if start <= 0 or len(block) > size:
        return
    ctypes.memmove(start, block + b"\0" * (size - len(block)), size)
