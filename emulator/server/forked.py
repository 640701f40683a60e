"""Workers forked from the HTTP process, for a server that a zygote forked (a warm start).

A warm replica's HTTP process already holds the heavy modules its zygote imported
(:mod:`emulator.runtime.zygote_main`), so its workers are forked from it instead of started as
``python -u -m emulator.server.worker``: a worker then pays only for the script's own import and
``init()``. What a fresh worker would not have is dropped in the child: the event loop (a user's
``asyncio.run()`` works), the signal wake-up descriptor and handlers, every inherited
descriptor but stdio and its socket (the listening sockets, the other workers' pairs), and the
parent's objects are frozen out of the garbage collector so none closes a descriptor number
that the worker reuses. The HTTP process never starts a thread here, so the fork copies all the
state there is.

The parent waits for the worker through a pidfd (no waiter thread, the worker is reaped only
once it exited, so a signal never reaches a reused pid).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import socket
import sys
from collections.abc import Mapping

#: Set once in a server forked from a zygote (a fact of this process for its whole life).
_from_zygote = False


def mark_from_zygote() -> None:
    """This process is a replica's server forked from a zygote: fork its workers too."""
    global _from_zygote
    _from_zygote = True


def from_zygote() -> bool:
    return _from_zygote


def available() -> bool:
    """Whether this interpreter can wait for a forked worker (``os.pidfd_open``, Linux 5.3+)."""
    return hasattr(os, "pidfd_open") and hasattr(os, "fork")


class ForkedWorker:
    """The parent's handle on a forked worker; the subset of ``asyncio.subprocess.Process``
    that :class:`~emulator.server.workers.WorkerPool` uses."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[int] = loop.create_future()
        self._pidfd = os.pidfd_open(pid)
        loop.add_reader(self._pidfd, self._on_exit)

    def _on_exit(self) -> None:
        asyncio.get_running_loop().remove_reader(self._pidfd)
        os.close(self._pidfd)
        try:
            _, status = os.waitpid(self.pid, 0)
            code = os.waitstatus_to_exitcode(status)  # -N when killed by signal N
        except ChildProcessError:  # reaped elsewhere: how it ended is lost, the pool replaces it
            code = -signal.SIGKILL
        self.returncode = code
        self._exited.set_result(code)

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:  # not reaped yet: the pid is still this worker's
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def spawn(theirs: socket.socket, environ: Mapping[str, str]) -> ForkedWorker:
    """Fork a worker serving the pair's end ``theirs`` with ``environ`` (the caller closes
    its copy of ``theirs``)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = _run_worker(theirs, environ)
        finally:
            os._exit(code)
    return ForkedWorker(pid)


def reseed() -> None:
    """Give a forked process what a fresh one draws at import: ``random`` reseeds itself at
    fork (CPython's own hook); numpy's global generator, seeded from the OS when imported, would
    otherwise repeat its parent's numbers in every replica."""
    numpy_random = sys.modules.get("numpy.random")
    seed = getattr(numpy_random, "seed", None)
    if callable(seed):
        seed()


def _run_worker(theirs: socket.socket, environ: Mapping[str, str]) -> int:
    """In the child: become a fresh worker's equivalent and run it; the worker leaves with
    ``os._exit`` (its exit code), so the ``0`` returned is reached only if it did not."""
    gc.freeze()  # the parent's objects stay as they are (and shared with it)
    reseed()
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop_policy(None)
    fd = theirs.detach()
    for entry in os.listdir("/proc/self/fd"):
        number = int(entry)
        if number > 2 and number != fd:
            with contextlib.suppress(OSError):
                os.close(number)
    if dict(os.environ) != dict(environ):
        os.environ.clear()
        os.environ.update(environ)
    from emulator.server import worker

    sys.argv = [worker.__file__, str(fd)]
    worker._exit(worker.main(sys.argv))
    return 0
