"""Responses whose body is sent while it is produced: ``AMLResponse`` wrapping a generator.

azmlinfsrv 1.5.1 (gunicorn's sync worker) sends the head when ``run()``'s generator yields its
first item and each item as it is yielded, chunked on HTTP/1.1; a generator that raises cuts the
connection (no terminating chunk), or, before its first item, gets gunicorn's HTML 500 page
(measured: ``tests/golden/infsrv-stream-chunks.txt``). Here the items travel from the worker
process over its socket pair as the frames below into a :class:`ChunkStream`, which the client's
connection drains (:mod:`emulator.server.protocol`); a local service's gateway fills one from
the replica's chunked answer the same way.

Nothing is held back, and little piles up: above :data:`HIGH_WATER` buffered bytes the producer
is paused (the worker then blocks in its send and the generator is not advanced), as gunicorn's
blocking writes hold a generator back when the client reads slowly.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from emulator.server.messages import HttpResponse

if TYPE_CHECKING:  # only the HTTP process runs an event loop; workers send frames without it
    import asyncio

#: Bytes buffered between producer and client before the producer is paused.
HIGH_WATER = 256 * 1024
#: ... and below which it is resumed.
LOW_WATER = 64 * 1024


@dataclass(frozen=True)
class StreamHead:
    """Worker → HTTP process: ``run()`` returned a streamed response; its status and headers."""

    response: HttpResponse


@dataclass(frozen=True)
class StreamChunk:
    """Worker → HTTP process: one item the generator yielded, encoded."""

    data: bytes


@dataclass(frozen=True)
class StreamEnd:
    """Worker → HTTP process: the generator is done; ``failed`` when it raised."""

    failed: bool


@dataclass(frozen=True)
class StopStream:
    """HTTP process → worker: the client is gone, close the generator of request ``serial``
    (requests are numbered by both ends in the order they cross the socket pair)."""

    serial: int


class StreamBroken(Exception):
    """The body was cut off: the generator raised, or its worker or replica died or timed out."""


@dataclass(frozen=True)
class StreamOutcome:
    """What reached the client: body bytes written (framing excluded, as gunicorn counts them),
    and whether the stream broke before its head was sent (the client got a 500 page instead)."""

    sent: int
    failed_before_head: bool = False


class ChunkStream:
    """Chunks on their way from a producer (a worker, a replica) to one client connection.

    The producer calls :meth:`put`, then :meth:`end` or :meth:`fail`; the connection awaits
    :meth:`next`, calls :meth:`cancel` if its client goes away, and :meth:`finish` once done.
    Everything runs on one event loop.
    """

    def __init__(
        self,
        *,
        on_cancel: Callable[[], None] | None = None,
        pause: Callable[[], None] | None = None,
        resume: Callable[[], None] | None = None,
    ) -> None:
        self._on_cancel = on_cancel
        self._pause = pause
        self._resume = resume
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._paused = False
        self._error: str | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._ended_callbacks: list[Callable[[], None]] = []
        self._finished_callbacks: list[Callable[[StreamOutcome], None]] = []
        self.ended = False
        self.cancelled = False
        self.outcome: StreamOutcome | None = None

    # the producer's side

    def put(self, data: bytes) -> None:
        if self.ended or self.cancelled:
            return
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > HIGH_WATER and not self._paused and self._pause is not None:
            self._paused = True
            self._pause()
        self._wake()

    def end(self) -> None:
        """The body is complete."""
        self._close(None)

    def fail(self, reason: str) -> None:
        """The body is cut off; the client sees what was sent so far, then the connection ends."""
        self._close(reason)

    def when_ended(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the producer is done (ended, failed), at once if it is."""
        if self.ended:
            callback()
        else:
            self._ended_callbacks.append(callback)

    # the connection's side

    async def next(self) -> bytes | None:
        """The next chunk; None at the end of the body; :class:`StreamBroken` if it was cut."""
        from asyncio import get_running_loop  # loaded: a coroutine is running

        while not self._chunks and not self.ended:
            self._waiter = get_running_loop().create_future()
            await self._waiter
        if self._chunks:
            data = self._chunks.popleft()
            self._buffered -= len(data)
            self._resume_if_drained()
            return data
        if self._error is not None:
            raise StreamBroken(self._error)
        return None

    def cancel(self) -> None:
        """The client is gone: drop what is buffered and ask the producer to stop."""
        if self.ended or self.cancelled:
            return
        self.cancelled = True
        self._chunks.clear()
        self._buffered = 0
        self._resume_if_drained()
        if self._on_cancel is not None:
            self._on_cancel()

    def finish(self, outcome: StreamOutcome) -> None:
        """The connection is done with the stream (the access log is written from here)."""
        if self.outcome is not None:
            return
        self.outcome = outcome
        callbacks, self._finished_callbacks = self._finished_callbacks, []
        for callback in callbacks:
            callback(outcome)

    def when_finished(self, callback: Callable[[StreamOutcome], None]) -> None:
        """Call ``callback`` with the outcome once the connection is done with the stream."""
        if self.outcome is not None:
            callback(self.outcome)
        else:
            self._finished_callbacks.append(callback)

    # plumbing

    def _close(self, error: str | None) -> None:
        if self.ended:
            return
        self.ended = True
        self._error = error
        self._wake()
        callbacks, self._ended_callbacks = self._ended_callbacks, []
        for callback in callbacks:
            callback()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _resume_if_drained(self) -> None:
        if self._paused and self._buffered < LOW_WATER:
            self._paused = False
            if self._resume is not None:
                self._resume()


@dataclass
class StreamedResponse(HttpResponse):
    """A response whose head is known and whose body arrives through ``chunks``."""

    chunks: ChunkStream = field(default_factory=ChunkStream)
