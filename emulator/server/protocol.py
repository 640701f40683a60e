"""HTTP/1.1 over asyncio with httptools' parser: the emulator's stand-in for gunicorn's front.

Kept small and explicit because the contract depends on details an ASGI server hides: the
status line's Werkzeug phrases (``500 INTERNAL SERVER ERROR``), dropping a connection without
an answer when the worker handling it dies, gunicorn's request limits (request line 4094 bytes,
100 header fields of at most 8190 bytes, answered with its HTML 414/431/400 pages) and
``100 Continue``. Unlike gunicorn's sync worker it keeps connections alive, answering pipelined
requests in order. Front ends (the web-service gateway) add a body limit (413) and a deadline
for reading each request (408), which keep slow or oversized clients from holding it.

A :class:`StreamedResponse` is written as gunicorn writes a WSGI body without a length: the head
with the first chunk, then each chunk as it comes (chunked transfer encoding on HTTP/1.1; on
HTTP/1.0 the raw bytes, ending with the connection), never faster than the client reads. A body
cut off mid-way ends the connection without the terminating chunk; one that fails before its
first chunk gets gunicorn's HTML 500 page.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

import httptools

from emulator.server.headers import http_date
from emulator.server.logs import master_log
from emulator.server.messages import INTERNAL_ERROR, HttpRequest, HttpResponse, error_response
from emulator.server.streaming import ChunkStream, StreamBroken, StreamedResponse, StreamOutcome

Handler = Callable[[HttpRequest], Awaitable[HttpResponse | None]]

MAX_REQUEST_LINE = 4094
MAX_HEADERS = 100
MAX_HEADER_FIELD = 8190
#: Bytes a request may send before its headers are complete (the limits above, plus slack).
_MAX_HEAD = MAX_REQUEST_LINE + (MAX_HEADERS + 1) * (MAX_HEADER_FIELD + 2) + 4096
IDLE_TIMEOUT_S = 60.0
#: After answering 413 mid-upload, how long the rest of the body is read and discarded, so the
#: client reads the answer instead of a reset connection.
_LINGER_S = 2.0


class _Rejected(Exception):
    """The request broke a limit; answered with gunicorn's HTML error page, then closed."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.response = error_page(status, reason, detail)


def error_page(status: int, reason: str, detail: str) -> HttpResponse:
    """gunicorn's plain HTML error page."""
    import html  # html.entities is half a MiB: loaded only when a request breaks a limit

    body = (
        "<html>\n  <head>\n"
        f"    <title>{reason}</title>\n"
        "  </head>\n  <body>\n"
        f"    <h1><p>{reason}</p></h1>\n"
        f"    {html.escape(detail)}\n"
        "  </body>\n</html>\n"
    ).encode()
    return HttpResponse(
        status,
        [
            ("Connection", "close"),
            ("Content-Type", "text/html"),
            ("Content-Length", str(len(body))),
        ],
        body,
        reason,
    )


class HttpProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(
        self,
        handler: Handler,
        connections: set[HttpProtocol],
        *,
        max_body: int | None = None,
        read_timeout: float | None = None,
    ) -> None:
        """``max_body``: bytes a request body may have (more: 413); ``read_timeout``: seconds a
        client has to send a whole request once it started one (more: 408)."""
        self._handler = handler
        self._connections = connections
        self._max_body = max_body
        self._read_timeout = read_timeout
        self._reading: asyncio.TimerHandle | None = None
        self._discarding = False
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._peer: tuple[str, int] = ("-", 0)
        self._local: tuple[str, int] = ("127.0.0.1", 0)
        self._queue: deque[tuple[HttpRequest, bool]] = deque()
        self._serving: asyncio.Task[None] | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._streaming: ChunkStream | None = None
        self._writable = asyncio.Event()
        self._writable.set()
        self._reset()

    def _reset(self) -> None:
        self._url = bytearray()
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._body_bytes = 0
        self._head_bytes = 0
        self._in_head = True

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        self._peer = (peer[0], peer[1]) if peer else self._peer
        self._local = (local[0], local[1]) if local else self._local
        self._connections.add(self)
        self._arm_idle_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self)
        if self._idle is not None:
            self._idle.cancel()
        self._stop_reading_timer()
        self._transport = None
        self._writable.set()
        if self._streaming is not None:  # stop the producer now, not at its next chunk
            self._streaming.cancel()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def data_received(self, data: bytes) -> None:
        if self._transport is None or self._transport.is_closing() or self._discarding:
            return
        if self._in_head:
            self._head_bytes += len(data)
        try:
            if self._head_bytes > _MAX_HEAD:
                raise _Rejected(
                    431, "Request Header Fields Too Large", "Error parsing headers: 'too large'"
                )
            self._parser.feed_data(data)
        except _Rejected as rejected:
            self._reject(rejected.response)
        except httptools.HttpParserCallbackError as error:
            cause = error.__context__
            if isinstance(cause, _Rejected):
                self._reject(cause.response)
            else:
                raise
        except httptools.HttpParserUpgrade:
            self._reject(error_page(400, "Bad Request", "Protocol upgrades are not supported"))
        except httptools.HttpParserError as error:
            self._reject(error_page(400, "Bad Request", f"Invalid HTTP request: {error}"))

    # httptools callbacks

    def on_message_begin(self) -> None:
        self._reset()
        if self._idle is not None:
            self._idle.cancel()
        if self._read_timeout is not None:
            self._stop_reading_timer()
            self._reading = asyncio.get_running_loop().call_later(
                self._read_timeout, self._read_timed_out
            )

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self._headers) >= MAX_HEADERS:
            raise _Rejected(
                431,
                "Request Header Fields Too Large",
                "Error parsing headers: 'limit request headers fields'",
            )
        if len(name) + len(value) + 4 > MAX_HEADER_FIELD:  # "name: value\r\n"
            raise _Rejected(
                431,
                "Request Header Fields Too Large",
                "Error parsing headers: 'limit request headers fields size'",
            )
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self._in_head = False
        method = self._parser.get_method().decode("ascii")
        line = len(method) + len(self._url) + 10  # "METHOD URL HTTP/1.1"
        if line > MAX_REQUEST_LINE:
            raise _Rejected(
                414, "URI Too Long", f"Request Line is too large ({line} > {MAX_REQUEST_LINE})"
            )
        expects = any(
            k.lower() == "expect" and v.lower() == "100-continue" for k, v in self._headers
        )
        length = next((v for k, v in self._headers if k.lower() == "content-length"), "")
        if self._max_body is not None and length.strip().isdigit():
            self._check_body_size(int(length))
        if expects and self._transport is not None:
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._max_body is not None:
            self._check_body_size(self._body_bytes)
        self._body.append(body)

    def _check_body_size(self, size: int) -> None:
        assert self._max_body is not None
        if size > self._max_body:
            raise _Rejected(
                413,
                "Payload Too Large",
                f"The request body ({size} bytes or more) is larger than the limit of "
                f"{self._max_body} bytes (max_body_bytes).",
            )

    def on_message_complete(self) -> None:
        target = self._url.decode("latin-1")
        path, _, query = target.partition("?")
        request = HttpRequest(
            method=self._parser.get_method().decode("ascii"),
            target=target,
            path=path,
            query=query.partition("#")[0],
            headers=tuple(self._headers),
            body=b"".join(self._body),
            version=self._parser.get_http_version(),
            client=self._peer,
            server=self._local,
        )
        self._queue.append((request, self._parser.should_keep_alive()))
        self._stop_reading_timer()
        self._in_head = True
        self._head_bytes = 0
        if self._serving is None:
            self._serving = asyncio.get_running_loop().create_task(self._serve())

    # answering

    async def _serve(self) -> None:
        while self._queue and self._transport is not None:
            request, keep_alive = self._queue.popleft()
            try:
                response = await self._handler(request)
            except Exception:
                master_log.exception("Error handling request")
                response = error_response(500, INTERNAL_ERROR)
            if self._transport is None:
                if isinstance(response, StreamedResponse):
                    response.chunks.cancel()
                    response.chunks.finish(StreamOutcome(0))
                break
            if response is None:
                self._transport.abort()  # the worker died: no answer, like gunicorn
                break
            if isinstance(response, StreamedResponse):
                keep_alive = await self._stream(request, response, keep_alive)
            else:
                self._write(request, response, keep_alive)
            if self._transport is None:
                break
            if not keep_alive:
                self._transport.close()
                break
        self._serving = None
        self._arm_idle_timer()

    def _head(
        self,
        request: HttpRequest,
        response: HttpResponse,
        keep_alive: bool,
        *,
        length: int | None,
        chunked: bool = False,
    ) -> bytes:
        """The status line and headers; ``length`` is added as ``Content-Length`` unless the
        response names one or it is None (a streamed body)."""
        version = "1.0" if request.version == "1.0" else "1.1"
        lines = [f"HTTP/{version} {response.status} {response.reason_phrase}"]
        lines.append(f"Date: {http_date()}")
        if chunked:  # where gunicorn puts it: before the application's headers
            lines.append("Transfer-Encoding: chunked")
        lines.extend(f"{name}: {value}" for name, value in response.headers)
        names = {name.lower() for name, _ in response.headers}
        if length is not None and "content-length" not in names:
            lines.append(f"Content-Length: {length}")
        if not keep_alive and "connection" not in names:
            lines.append("Connection: close")
        elif keep_alive and version == "1.0":
            lines.append("Connection: keep-alive")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _write(self, request: HttpRequest, response: HttpResponse, keep_alive: bool) -> None:
        assert self._transport is not None
        head = self._head(request, response, keep_alive, length=len(response.body))
        if request.method == "HEAD" or not response.body:
            self._transport.write(head)
        elif len(response.body) < 65536:
            self._transport.write(head + response.body)
        else:
            self._transport.writelines((head, response.body))

    async def _stream(
        self, request: HttpRequest, response: StreamedResponse, keep_alive: bool
    ) -> bool:
        """Write a streamed response as its chunks come; whether the connection stays open."""
        chunks = response.chunks
        self._streaming = chunks
        head_only = request.method == "HEAD"
        declared = next(
            (v for k, v in response.headers if k.lower() == "content-length" and v.isdigit()), None
        )
        limit = None if declared is None else int(declared)
        chunked = limit is None and not head_only and request.version != "1.0"
        if limit is None and not chunked and not head_only:
            keep_alive = False  # the end of the connection is the end of the body
        sent = 0
        head_sent = failed_early = False
        try:
            while True:
                try:
                    data = await chunks.next()
                except StreamBroken:
                    if not head_sent and self._transport is not None:
                        failed_early = True
                        self._write(request, error_page(500, "Internal Server Error", ""), False)
                    return False
                if self._transport is None:
                    return False
                if not head_sent:
                    self._transport.write(
                        self._head(request, response, keep_alive, length=None, chunked=chunked)
                    )
                    head_sent = True
                if data is None:
                    if chunked:
                        self._transport.write(b"0\r\n\r\n")
                    return keep_alive and (limit is None or sent == limit)
                if head_only or not data:  # an empty chunk would end a chunked body
                    continue
                if limit is not None:
                    data = data[: limit - sent]
                sent += len(data)
                if chunked:
                    self._transport.writelines((b"%x\r\n" % len(data), data, b"\r\n"))
                else:
                    self._transport.write(data)
                await self._writable.wait()
        finally:
            self._streaming = None
            chunks.cancel()  # a no-op once the producer ended
            chunks.finish(StreamOutcome(sent, failed_before_head=failed_early))

    def _reject(self, response: HttpResponse) -> None:
        if self._transport is None:
            return
        self._stop_reading_timer()
        request = HttpRequest("GET", "/", "/", "", (), b"")
        self._write(request, response, keep_alive=False)
        if response.status == 413 and self._transport.can_write_eof():
            # The client is still sending: answer, then discard what comes for a while.
            self._discarding = True
            self._transport.write_eof()
            asyncio.get_running_loop().call_later(_LINGER_S, self.close)
        else:
            self._transport.close()

    def _read_timed_out(self) -> None:
        """The client took longer than ``read_timeout`` to send its request (slowloris)."""
        self._reading = None
        self._reject(
            error_page(
                408,
                "Request Timeout",
                f"The request was not received completely within {self._read_timeout:g} s.",
            )
        )

    def _stop_reading_timer(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
            self._reading = None

    def _arm_idle_timer(self) -> None:
        if self._transport is None:
            return
        if self._idle is not None:
            self._idle.cancel()
        self._idle = asyncio.get_running_loop().call_later(IDLE_TIMEOUT_S, self._close_if_idle)

    def _close_if_idle(self) -> None:
        if self._transport is not None and self._serving is None and not self._queue:
            self._transport.close()

    def close(self) -> None:
        """Close the connection at shutdown (an unanswered request gets no answer)."""
        if self._transport is not None:
            self._transport.close()
