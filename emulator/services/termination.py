"""SIGTERM and SIGHUP end a process that hosts services the way Ctrl-C does.

``timeout``, CI cancellation and ``kill`` send SIGTERM; a closed terminal sends SIGHUP.
Python's default for both ends the process at once, skipping ``finally`` blocks, ``atexit`` and
with them the emulator's clean shutdown (the replicas still die: their watchdog,
:mod:`emulator.runtime.lifeline`, sees the host go). Within :func:`handle_termination` both
signals raise :class:`HostTerminated` in the main thread instead: a ``KeyboardInterrupt``, so
the program unwinds exactly as after Ctrl-C (a script's own ``except KeyboardInterrupt:
service.delete()`` runs, pytest tears its fixtures down) and the caller then stops the hosted
services with the reason (:func:`stop_hosted_services`), which their records keep.

A signal somebody else handles (a handler of the program, or ``SIG_IGN`` as ``nohup`` sets for
SIGHUP) is left alone. A second signal while the first one is being handled ends the process
at once, as a second Ctrl-C would be expected to.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

from emulator.services.hosting import HOST

#: The signals handled like Ctrl-C.
SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class HostTerminated(KeyboardInterrupt):
    """Raised in the main thread when the process received SIGTERM or SIGHUP."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"received {signal.Signals(signum).name}")

    @property
    def reason(self) -> str:
        """What the service records say: ``received SIGTERM``."""
        return f"received {signal.Signals(self.signum).name}"

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by this signal (143 for SIGTERM)."""
        return 128 + self.signum


class Termination:
    """What :func:`handle_termination` caught: code that swallows ``KeyboardInterrupt`` (as
    werkzeug's ``serve_forever`` does) can still tell that a signal asked it to end."""

    def __init__(self) -> None:
        self.received: HostTerminated | None = None

    def handler(self, signum: int, frame: FrameType | None) -> None:
        signal.signal(signum, signal.SIG_DFL)  # a second one ends the process at once
        self.received = HostTerminated(signum)
        raise self.received


@contextlib.contextmanager
def handle_termination() -> Iterator[Termination]:
    """SIGTERM/SIGHUP raise :class:`HostTerminated` while inside (main thread only; elsewhere
    nothing changes). Handlers are put back on the way out."""
    termination = Termination()
    installed: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in SIGNALS:
            if signal.getsignal(signum) == signal.SIG_DFL:
                installed[signum] = signal.signal(signum, termination.handler)
    try:
        yield termination
    finally:
        for number, previous in installed.items():
            if signal.getsignal(number) in (termination.handler, signal.SIG_DFL):
                signal.signal(number, previous)


def stop_hosted_services(interrupt: KeyboardInterrupt) -> None:
    """Stop every service this process hosts; their records say why: ``stopped: the host
    process (pid N) received SIGTERM`` (or ``was interrupted (Ctrl-C)``)."""
    if isinstance(interrupt, HostTerminated):
        HOST.shutdown(interrupt.reason)
    else:
        HOST.shutdown("was interrupted (Ctrl-C)")
