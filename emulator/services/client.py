"""The gateway's HTTP/1.1 client to replicas: asyncio + httptools, connections kept alive.

One :class:`ReplicaClient` per replica address keeps idle connections for reuse (the scoring
server keeps connections alive), so a proxied request normally costs one write and one read on
an open socket. A request that fails on a reused connection before any answer byte arrived
(the replica closed it while idle) is retried once on a fresh connection.

With ``stream=True`` a chunked answer is handed on as soon as its head arrives, as a
:class:`StreamedResponse` whose chunks follow as the replica sends them (a local service, which
has no front end in Azure); otherwise the whole body is read first, as Azure's front ends do.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

import httptools

from emulator.server.messages import HttpResponse
from emulator.server.streaming import ChunkStream, StreamedResponse

#: Reused only if idle for less than this (the scoring server drops idle ones after 60 s).
MAX_IDLE_S = 30.0
MAX_IDLE_CONNECTIONS = 64


class ReplicaClosed(ConnectionError):
    """The replica closed the connection (or it could not be opened) without a full answer."""

    def __init__(self, message: str, answered: bool) -> None:
        super().__init__(message)
        self.answered = answered


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.idle_since = time.monotonic()
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[HttpResponse] | None = None
        self._head_only = False
        self._stream_wanted = False
        self._stream: ChunkStream | None = None
        self._received = False
        #: Whether the last answer left the connection fit for another request.
        self.reusable = False
        self._reset()

    def _reset(self) -> None:
        self._reason = bytearray()
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []

    @property
    def usable(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def send(self, data: bytes, head_only: bool, stream: bool) -> asyncio.Future[HttpResponse]:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._head_only = head_only
        self._stream_wanted = stream
        self._received = False
        self.reusable = False
        self.transport.write(data)
        return self._waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def time_out(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(asyncio.TimeoutError())
        self.close()

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._fail("replica closed the connection")
        if self._stream is not None:
            self._stream.fail("replica closed the connection")
            self._stream = None

    def data_received(self, data: bytes) -> None:
        self._received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(f"invalid answer from replica: {error}")
            self.close()

    def _fail(self, message: str) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ReplicaClosed(message, self._received))

    # httptools callbacks

    def on_message_begin(self) -> None:
        self._reset()

    def on_status(self, status: bytes) -> None:
        self._reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        if self._head_only:  # HEAD: no body follows, whatever Content-Length says
            self._complete(reusable=False)
        elif self._stream_wanted and self._chunked():
            self._start_stream()

    def on_body(self, body: bytes) -> None:
        if self._stream is not None:
            self._stream.put(body)
        else:
            self._body.append(body)

    def on_message_complete(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            self.reusable = self._parser.should_keep_alive()
            self.idle_since = time.monotonic()
            stream.end()
        elif not self._head_only:
            self._complete(reusable=self._parser.should_keep_alive())

    def _chunked(self) -> bool:
        return any(
            name.lower() == "transfer-encoding" and "chunked" in value.lower()
            for name, value in self._headers
        )

    def _start_stream(self) -> None:
        """Answer with the head now; the body follows chunk by chunk as it arrives."""
        transport = self.transport
        assert transport is not None
        self._stream = ChunkStream(
            on_cancel=self.close, pause=transport.pause_reading, resume=self._resume_reading
        )
        response = StreamedResponse(
            self._parser.get_status_code(),
            self._headers,
            b"",
            self._reason.decode("latin-1") or None,
            chunks=self._stream,
        )
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(response)

    def _resume_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def _complete(self, reusable: bool) -> None:
        response = HttpResponse(
            self._parser.get_status_code(),
            self._headers,
            b"".join(self._body),
            self._reason.decode("latin-1") or None,
        )
        self.reusable = reusable
        if not reusable:
            self.close()
        self.idle_since = time.monotonic()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(response)


class ReplicaClient:
    """Keep-alive connections to one replica's scoring server."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._idle: list[_Connection] = []

    async def request(
        self,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        timeout: float | None = None,
        stream: bool = False,
    ) -> HttpResponse:
        """Send one request and read the answer within ``timeout`` seconds (connecting
        included); raises :class:`ReplicaClosed` or :class:`asyncio.TimeoutError`.
        Cancelling drops the connection. ``stream``: a chunked answer comes back as a
        :class:`StreamedResponse` once its head is in (``timeout`` covers the head only)."""
        lines = [f"{method} {target} HTTP/1.1"]
        lines.extend(f"{name}: {value}" for name, value in headers)
        lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        head_only = method == "HEAD"
        deadline = None if timeout is None else time.monotonic() + timeout
        connection = self._idle_connection()
        if connection is not None:
            try:
                return await self._exchange(connection, data, head_only, stream, deadline)
            except ReplicaClosed as closed:
                if closed.answered:
                    raise
        if deadline is None:
            connection = await self._connect()
        else:
            connection = await asyncio.wait_for(self._connect(), deadline - time.monotonic())
        return await self._exchange(connection, data, head_only, stream, deadline)

    def _idle_connection(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.usable and now - connection.idle_since < MAX_IDLE_S:
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(_Connection, self.host, self.port)
        except OSError as error:
            raise ReplicaClosed(f"cannot connect to replica: {error}", answered=False) from None
        return connection

    async def _exchange(
        self,
        connection: _Connection,
        data: bytes,
        head_only: bool,
        stream: bool,
        deadline: float | None,
    ) -> HttpResponse:
        timer = None
        if deadline is not None:  # a timer, not wait_for: no task per request
            delay = max(deadline - time.monotonic(), 0.0)
            timer = asyncio.get_running_loop().call_later(delay, connection.time_out)
        done = False
        try:
            response = await connection.send(data, head_only, stream)
            done = True
        finally:
            if timer is not None:
                timer.cancel()
            if not done:
                connection.close()
        if isinstance(response, StreamedResponse):  # in use until the body is through
            response.chunks.when_ended(lambda: self._release(connection))
        else:
            self._release(connection)
        return response

    def _release(self, connection: _Connection) -> None:
        """Keep a connection whose answer is complete for the next request, or close it."""
        if connection.usable and connection.reusable and len(self._idle) < MAX_IDLE_CONNECTIONS:
            self._idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
