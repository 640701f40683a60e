"""The HTTP process's side of the workers: spawning, dispatching, timeouts, replacement.

Each worker runs one request at a time (like gunicorn's sync worker); requests wait for a free
one. To keep a single busy worker from idling between requests, the next request may already be
sent while the current one runs (it waits in the socket; the worker still takes one at a time):
with one worker it would wait just as long in the HTTP process, and the worker never waits for
the HTTP process to turn around. With several workers a request only goes to an idle one.

A worker that dies mid-request loses that request (the client's connection is dropped, as with
gunicorn); requests queued behind it go to other workers, and it is replaced. ``run()`` is
interrupted in the worker after ``SCORING_TIMEOUT_MS``; one that cannot be interrupted (stuck in
native code, swallowing the TimeoutError) gets the same timeout answer a moment later and its
worker is killed and replaced. A worker that dies before it is ready (script import or
``init()`` failed) stops the server, as gunicorn halts with "Worker failed to boot".

A streamed answer (``run()`` returned a response wrapping a generator) resolves the request as
soon as its head arrives; its chunks follow into a :class:`ChunkStream` and the worker stays busy
until the end frame. The scoring timeout covers ``run()`` only; the whole request is bounded by
gunicorn's worker timeout (``WORKER_TIMEOUT``, 300 s by default), after which the worker is
killed and the stream cut, as measured with azmlinfsrv 1.5.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from emulator.server import forked, ipc
from emulator.server.config import WORKER_TIMEOUT
from emulator.server.logs import master_log
from emulator.server.messages import HttpRequest, HttpResponse, error_response
from emulator.server.streaming import (
    ChunkStream,
    StopStream,
    StreamChunk,
    StreamedResponse,
    StreamEnd,
    StreamHead,
)

#: How much longer than SCORING_TIMEOUT_MS the worker gets to answer before it is killed.
KILL_GRACE_S = 1.0
#: gunicorn's worker timeout as azmlinfsrv sets it when WORKER_TIMEOUT is not given (seconds).
DEFAULT_WORKER_TIMEOUT_S = 300
_STOP_WAIT_S = 5.0


@dataclass(eq=False)
class _Job:
    request: HttpRequest
    future: asyncio.Future[HttpResponse | None]
    timer: asyncio.TimerHandle | None = None
    #: The request's number on its worker's socket pair (both ends count requests).
    serial: int = 0
    #: When it was sent to the worker (gunicorn's worker timeout runs from there).
    sent_at: float = 0.0
    #: The body still arriving, once a streamed head came.
    stream: ChunkStream | None = None


@dataclass(eq=False)
class _Worker:
    process: asyncio.subprocess.Process | forked.ForkedWorker
    hello: asyncio.Future[dict[str, Any] | None]
    transport: asyncio.BaseTransport | None = None
    jobs: deque[_Job] = field(default_factory=deque)
    alive: bool = True
    sent: int = 0

    def send(self, job: _Job) -> None:
        assert isinstance(self.transport, asyncio.WriteTransport)
        self.transport.write(ipc.encode(job.request))
        self.sent += 1
        job.serial = self.sent
        job.sent_at = time.monotonic()
        self.jobs.append(job)

    def stop_stream(self, job: _Job) -> None:
        """Ask the worker to close the generator of ``job`` (its client went away)."""
        if self.alive and isinstance(self.transport, asyncio.WriteTransport):
            self.transport.write(ipc.encode(StopStream(job.serial)))

    def pause_reading(self) -> None:
        if isinstance(self.transport, asyncio.ReadTransport) and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if isinstance(self.transport, asyncio.ReadTransport) and not self.transport.is_closing():
            self.transport.resume_reading()


class _Channel(asyncio.Protocol):
    """The HTTP process's end of a worker's socket: frames in, callbacks out."""

    def __init__(self, on_message: Callable[[object], None], on_lost: Callable[[], None]) -> None:
        self._on_message = on_message
        self._on_lost = on_lost
        self._decoder = ipc.Decoder()

    def data_received(self, data: bytes) -> None:
        for message in self._decoder.feed(data):
            self._on_message(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_lost()


class WorkerPool:
    """``count`` workers for one entry script; ``on_boot_failure`` is told when one cannot boot.

    In a server forked from a zygote the workers are forked from this process too (see
    :mod:`emulator.server.forked`) instead of started as fresh interpreters.
    """

    def __init__(
        self,
        count: int,
        environ: Mapping[str, str],
        scoring_timeout_ms: int,
        on_boot_failure: Callable[[], None],
    ) -> None:
        self._count = count
        self._fork = forked.from_zygote() and forked.available()
        self._environ = dict(environ)
        self._timeout_ms = scoring_timeout_ms
        self._worker_timeout_s = _worker_timeout(environ)
        self._on_boot_failure = on_boot_failure
        self._ready = asyncio.Event()
        self._workers: list[_Worker] = []
        self._queue: deque[_Job] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        #: Swagger documents by version, from the first worker that booted.
        self.documents: dict[str, Any] = {}

    def start(self) -> None:
        for _ in range(self._count):
            self._spawn()

    async def wait_ready(self) -> None:
        """Return once a worker has run ``init()`` (requests wait for it, as with azmlinfsrv)."""
        await self._ready.wait()

    async def score(self, request: HttpRequest) -> HttpResponse | None:
        """The worker's answer (a :class:`StreamedResponse` when ``run()`` streams); None when
        the worker died running it (drop the connection)."""
        job = _Job(request, asyncio.get_running_loop().create_future())
        self._queue.append(job)
        self._dispatch()
        return await job.future

    async def close(self) -> None:
        """Stop every worker (SIGTERM, then SIGKILL after a few seconds)."""
        self._closing = True
        workers = list(self._workers)
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                worker.process.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                await asyncio.wait_for(worker.process.wait(), _STOP_WAIT_S)
            except asyncio.TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.kill()
                await worker.process.wait()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _dispatch(self) -> None:
        """Send queued requests to idle workers (a single worker gets its next one early)."""
        while self._queue:
            ready = [w for w in self._workers if w.alive and w.transport and w.hello.done()]
            idle = [w for w in ready if not w.jobs]
            if idle:
                worker = idle[0]
            elif self._count == 1 and ready and len(ready[0].jobs) == 1:
                worker = ready[0]
            else:
                return
            job = self._queue.popleft()
            worker.send(job)
            if len(worker.jobs) == 1:
                self._arm(worker, job)

    def _arm(self, worker: _Worker, job: _Job) -> None:
        if self._timeout_ms > 0:
            delay = self._timeout_ms / 1000 + KILL_GRACE_S
            job.timer = asyncio.get_running_loop().call_later(delay, self._timed_out, worker)

    def _on_message(self, worker: _Worker, message: object) -> None:
        if not worker.alive:
            return
        if not worker.hello.done():
            worker.hello.set_result(message if isinstance(message, dict) else None)
            return
        job = worker.jobs[0]
        if isinstance(message, StreamChunk):
            assert job.stream is not None
            job.stream.put(message.data)
            return
        if isinstance(message, StreamHead):
            self._start_stream(worker, job, message.response)
            return
        worker.jobs.popleft()
        if job.timer is not None:
            job.timer.cancel()
        if isinstance(message, StreamEnd):
            assert job.stream is not None
            if message.failed:
                job.stream.fail("the generator raised")
            else:
                job.stream.end()
        elif not job.future.done():
            assert isinstance(message, HttpResponse)
            job.future.set_result(message)
        if worker.jobs:
            self._arm(worker, worker.jobs[0])
        self._dispatch()

    def _start_stream(self, worker: _Worker, job: _Job, head: HttpResponse) -> None:
        """The head of a streamed answer: answer the request now, the chunks follow."""
        if job.timer is not None:
            job.timer.cancel()
        job.timer = None
        if self._worker_timeout_s is not None:
            remaining = self._worker_timeout_s - (time.monotonic() - job.sent_at)
            job.timer = asyncio.get_running_loop().call_later(
                max(remaining, 0.0), self._timed_out, worker
            )
        job.stream = ChunkStream(
            on_cancel=lambda: worker.stop_stream(job),
            pause=worker.pause_reading,
            resume=worker.resume_reading,
        )
        response = StreamedResponse(
            head.status, head.headers, head.body, head.reason, chunks=job.stream
        )
        if job.future.done():  # nobody waits for it any more
            job.stream.cancel()
        else:
            job.future.set_result(response)

    def _timed_out(self, worker: _Worker) -> None:
        master_log.critical(f"WORKER TIMEOUT (pid:{worker.process.pid})")
        job = worker.jobs[0]
        if job.stream is not None:
            job.stream.fail("worker timeout")
        else:
            timeout = f"Scoring timeout after {self._timeout_ms} ms"
            job.future.set_result(error_response(500, timeout, run_failed=True))
        with contextlib.suppress(ProcessLookupError):
            worker.process.kill()
        self._on_lost(worker)

    def _on_lost(self, worker: _Worker) -> None:
        """The worker is gone: its running request has no answer, the queued ones move on."""
        if not worker.alive:
            return
        worker.alive = False
        if not worker.hello.done():
            worker.hello.set_result(None)
        if worker.jobs:
            running = worker.jobs.popleft()
            if running.timer is not None:
                running.timer.cancel()
            if running.stream is not None:
                running.stream.fail("the worker died")
            elif not running.future.done():
                running.future.set_result(None)
            self._queue.extendleft(reversed(worker.jobs))
            worker.jobs.clear()
        self._dispatch()

    def _spawn(self) -> None:
        task = asyncio.get_running_loop().create_task(self._run_worker())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_worker(self) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        process: asyncio.subprocess.Process | forked.ForkedWorker
        try:
            if self._fork:
                process = forked.spawn(theirs, self._environ)
            else:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-u",
                    "-m",
                    "emulator.server.worker",
                    str(theirs.fileno()),
                    pass_fds=(theirs.fileno(),),
                    env=self._environ,
                    stdin=subprocess.DEVNULL,
                )
        finally:
            theirs.close()
        worker = _Worker(process, loop.create_future())
        self._workers.append(worker)
        worker.transport, _ = await loop.create_unix_connection(
            lambda: _Channel(
                lambda message: self._on_message(worker, message),
                lambda: self._on_lost(worker),
            ),
            sock=ours,
        )
        hello = await worker.hello
        if hello is not None:
            self.documents = self.documents or hello["swagger"]
            self._ready.set()
            self._dispatch()
        code = await process.wait()
        worker.transport.close()
        self._on_lost(worker)
        self._workers.remove(worker)
        if self._closing:
            return
        _log_exit(process.pid, code)
        if hello is not None:
            self._spawn()
        else:
            self._on_boot_failure()


def _worker_timeout(environ: Mapping[str, str]) -> float | None:
    """gunicorn's worker timeout in seconds, from ``WORKER_TIMEOUT`` (azmlinfsrv's default 300;
    gunicorn takes 0 as "no timeout": None)."""
    value = environ.get(WORKER_TIMEOUT)
    if value is None:
        return float(DEFAULT_WORKER_TIMEOUT_S)
    try:
        seconds = int(value)
    except ValueError:
        master_log.warning(
            f"WORKER_TIMEOUT={value!r} is not a whole number of seconds; using "
            f"{DEFAULT_WORKER_TIMEOUT_S}. Set it to seconds, such as WORKER_TIMEOUT=300."
        )
        return float(DEFAULT_WORKER_TIMEOUT_S)
    return None if seconds <= 0 else float(seconds)


def _log_exit(pid: int, code: int) -> None:
    if code < 0:
        master_log.error(f"Worker (pid:{pid}) was sent {signal.Signals(-code).name}!")
    elif code:
        master_log.error(f"Worker (pid:{pid}) exited with code {code}.")
