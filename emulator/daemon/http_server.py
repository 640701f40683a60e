"""A threaded HTTP/1.1 WSGI server that keeps connections alive, for the daemon's HTTPS face.

werkzeug's development server answers every request with ``Connection: close`` (it cannot
drain an unread request body without reading into the next request), so each request of a
client paid a TCP connect and a TLS handshake: about 8 ms of a scoring URI's overhead.
This server frames each request body itself (Content-Length or chunked), reads away what the
application left unread before the next request line, and keeps the connection open for the
next request until it has been idle for ``idle_timeout`` seconds.

One thread per connection, at most ``max_connections`` at once; when all are taken, the
longest-waiting idle connection is closed for the newcomer. TLS handshakes run in the
connection's thread, so a slow client cannot hold up the accept loop. The request line and
header fields are parsed as :mod:`http.server` parses them, without the email package
(:mod:`emulator.daemon.http_head`).
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote, urlsplit

from emulator.daemon.http_body import (
    DRAIN_LIMIT,
    BadRequestBody,
    ChunkedBody,
    RequestBody,
    request_body,
)
from emulator.daemon.http_head import RequestHead

_log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Callable[[bytes], None]]], Iterable[bytes]]

#: Seconds a kept-alive connection may wait for its next request (and a request for its next
#: bytes) before the server closes it.
IDLE_TIMEOUT_S = 15.0
#: Connections (= threads) served at once.
MAX_CONNECTIONS = 128
#: Seconds a client has to finish its TLS handshake.
HANDSHAKE_TIMEOUT_S = 10.0
#: Seconds stop() lets requests in progress finish before their connections are cut.
STOP_GRACE_S = 2.0

_NO_BODY_STATUS = frozenset({204, 304})
#: Framing headers the server writes itself (an application's would contradict them).
_FRAMING = frozenset({"connection", "keep-alive", "transfer-encoding"})


class _Answer:
    """start_response/write of one request: the head goes out with the first body bytes, framed
    by the application's Content-Length, else chunked (HTTP/1.1), else by closing."""

    def __init__(self, handler: WSGIRequestHandler, method: str, body: RequestBody):
        self._handler = handler
        self._method = method
        self._body = body
        self._status: str | None = None
        self._headers: list[tuple[str, str]] = []
        self.head_sent = False
        self._chunked = False
        self._declared: int | None = None
        self._written = 0
        self._bodiless = False

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None and self.head_sent:
            raise exc_info[1].with_traceback(exc_info[2])
        self._status = status
        self._headers = headers
        return self.write

    def _head(self) -> bytes:
        handler = self._handler
        assert self._status is not None, "write() before start_response()"
        code = int(self._status.split(None, 1)[0])
        names = {name.lower() for name, _ in self._headers}
        for name, value in self._headers:
            lower = name.lower()
            if lower == "content-length":
                self._declared = int(value)
            elif lower == "connection" and "close" in value.lower():
                handler.close_connection = True
        if self._body.unread_over(DRAIN_LIMIT) or handler.server.stopping:
            handler.close_connection = True
        self._bodiless = self._method == "HEAD" or code < 200 or code in _NO_BODY_STATUS
        if self._declared is None and not self._bodiless:
            if handler.request_version == "HTTP/1.1":
                self._chunked = True
            else:  # an HTTP/1.0 client: the end of the connection ends the body
                handler.close_connection = True
        lines = [f"{handler.protocol_version} {self._status}"]
        lines += [f"{n}: {v}" for n, v in self._headers if n.lower() not in _FRAMING]
        if "date" not in names:
            lines.append(f"Date: {formatdate(usegmt=True)}")
        if "server" not in names:
            lines.append(f"Server: {handler.server_version}")
        if self._chunked:
            lines.append("Transfer-Encoding: chunked")
        if handler.close_connection:
            lines.append("Connection: close")
        elif handler.request_version != "HTTP/1.1":
            lines.append("Connection: keep-alive")
        self.head_sent = True
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def write(self, data: bytes) -> None:
        out = b"" if self.head_sent else self._head()
        if data:
            self._written += len(data)
            out += b"%x\r\n%s\r\n" % (len(data), data) if self._chunked else data
        if out:
            self._handler.connection.sendall(out)

    def finish(self) -> None:
        """After the application's last bytes: the head if not yet sent, the last chunk."""
        out = b"" if self.head_sent else self._head()
        if self._chunked:
            out += b"0\r\n\r\n"
        if out:
            self._handler.connection.sendall(out)
        if self._declared is not None and not self._bodiless and self._written != self._declared:
            self._handler.close_connection = True  # the client cannot find the next answer


class WSGIRequestHandler(RequestHead):
    """One connection: requests parsed as :mod:`http.server` does, each served by the WSGI app."""

    protocol_version = "HTTP/1.1"
    server_version = "amlemu"
    server: KeepAliveServer  # type: ignore[assignment]
    connection: socket.socket

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.idle_timeout)
        # An answer may leave in several writes (head with the first bytes, then chunks);
        # Nagle's algorithm would hold each later one until the client's delayed ACK, ~40 ms
        # (measured on a scoring URI under werkzeug's server: p50 48-53 ms with it, 4-6 without).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        # The client went away or the server is stopping: nothing to answer.
        with contextlib.suppress(OSError):  # ConnectionError, TimeoutError, SSLError
            super().handle()

    def handle_one_request(self) -> None:
        self.server.mark_idle(self.request, idle=True)
        super().handle_one_request()

    def parse_request(self) -> bool:
        self.server.mark_idle(self.request, idle=False)
        return super().parse_request()

    def version_string(self) -> str:
        return self.server_version

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """The ARM app logs each request itself (with its api-version)."""

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s: %s", self.address_string(), format % args)

    def make_environ(self, body: RequestBody, chunked: bool) -> dict[str, Any]:
        """The WSGI environ (PEP 3333); headers whose names hold ``_`` are left out, as
        werkzeug does (``X_Foo`` must not pass for ``X-Foo``)."""
        target = self.path
        host: str | None = None
        if not target.startswith("/"):  # absolute form: http://host/path
            parts = urlsplit(target)
            host = parts.netloc
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        path, _, query = target.partition("?")
        environ: dict[str, Any] = {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if isinstance(self.connection, ssl.SSLSocket) else "http",
            "wsgi.input": body,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "SERVER_SOFTWARE": self.server_version,
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, encoding="latin-1"),
            "QUERY_STRING": query,
            "REQUEST_URI": self.path,
            "RAW_URI": self.path,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": self.client_address[1],
            "SERVER_NAME": self.server.server_address[0],
            "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": self.request_version,
        }
        if chunked:
            environ["wsgi.input_terminated"] = True
        for name, value in self.headers.items():
            if "_" in name or (chunked and name.lower() == "content-length"):
                continue
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = f"HTTP_{key}"
            value = value.replace("\r\n", "")
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        if host:
            environ["HTTP_HOST"] = host
        return environ

    def _serve(self) -> None:
        try:
            body = request_body(self.headers, self.rfile)
        except BadRequestBody as exc:
            self.close_connection = True
            self.send_error(400, str(exc))
            return
        environ = self.make_environ(body, isinstance(body, ChunkedBody))
        answer = _Answer(self, self.command, body)
        try:
            result = self.server.app(environ, answer.start_response)
            try:
                for data in result:
                    answer.write(data)
                answer.finish()
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except (ConnectionError, TimeoutError, ssl.SSLError):
            self.close_connection = True
            return
        except Exception:
            _log.exception("Error on request %s %s", self.command, self.path)
            self.close_connection = True
            if not answer.head_sent:
                self.send_error(500, "The emulator failed on this request; see its log.")
            return
        if not self.close_connection and not body.drain(DRAIN_LIMIT):
            self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve


class KeepAliveServer:
    """Serves ``app`` on the listening ``sock`` (owned from here on), through ``ssl_context``
    when given, until :meth:`shutdown`."""

    def __init__(
        self,
        sock: socket.socket,
        app: WSGIApp,
        ssl_context: ssl.SSLContext | None = None,
        handler: type[WSGIRequestHandler] = WSGIRequestHandler,
        max_connections: int = MAX_CONNECTIONS,
        idle_timeout: float = IDLE_TIMEOUT_S,
    ) -> None:
        self.socket = sock
        self.server_address: tuple[str, int] = sock.getsockname()[:2]
        self.app = app
        self.idle_timeout = idle_timeout
        self._ssl = ssl_context
        self._handler = handler
        self._slots = threading.BoundedSemaphore(max_connections)
        self._lock = threading.Lock()
        self._live: dict[socket.socket, float | None] = {}  # idle since (monotonic), or busy
        self._threads: set[threading.Thread] = set()
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def mark_idle(self, conn: socket.socket, idle: bool) -> None:
        with self._lock:
            if conn in self._live:
                self._live[conn] = time.monotonic() if idle else None

    def serve_forever(self, poll_interval: float = 0.1) -> None:
        """Accept connections until :meth:`shutdown`; ``poll_interval``: how long that may
        take to be noticed."""
        self._stopped.clear()
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self.socket, selectors.EVENT_READ)
                while not self._stop.is_set():
                    if not self._slots.acquire(timeout=poll_interval):
                        if selector.select(0):  # someone waits for a connection
                            self._evict_idle()
                        continue
                    conn = self._accept(selector, poll_interval)
                    if conn is None:
                        self._slots.release()
                        continue
                    thread = threading.Thread(
                        target=self._connection, args=conn, name="amlemu-conn", daemon=True
                    )
                    with self._lock:
                        self._threads.add(thread)
                    thread.start()
        finally:
            self._stopped.set()

    def _accept(
        self, selector: selectors.BaseSelector, poll_interval: float
    ) -> tuple[socket.socket, Any] | None:
        if not selector.select(poll_interval):
            return None
        try:
            conn, address = self.socket.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return None
        with self._lock:
            self._live[conn] = None
        return conn, address

    def _evict_idle(self) -> None:
        """All connections taken: close the one idle longest (its client reconnects)."""
        with self._lock:
            idle = [(since, conn) for conn, since in self._live.items() if since is not None]
        if idle:
            _cut(min(idle, key=lambda item: item[0])[1])

    def _connection(self, conn: socket.socket, address: Any) -> None:
        served = conn
        try:
            if self._ssl is not None:
                conn.settimeout(HANDSHAKE_TIMEOUT_S)
                served = self._ssl.wrap_socket(conn, server_side=True)
                with self._lock:  # the wrapped socket took over the descriptor
                    self._live[served] = self._live.pop(conn, None)
            if not self._stop.is_set():
                self._handler(served, address, self)  # type: ignore[arg-type]
        except (OSError, ssl.SSLError) as exc:
            _log.debug("connection from %s ended: %s", address, exc)
        finally:
            with self._lock:
                self._live.pop(served, None)
                self._live.pop(conn, None)
                self._threads.discard(threading.current_thread())
            _close(served)
            self._slots.release()

    def shutdown(self) -> None:
        """Stop accepting; close idle connections at once, busy ones once their answer is sent
        (cut after :data:`STOP_GRACE_S`); returns when the accept loop has ended."""
        self._stop.set()
        self._stopped.wait()
        deadline = time.monotonic() + STOP_GRACE_S
        while True:
            with self._lock:
                live = dict(self._live)
                threads = list(self._threads)
            late = time.monotonic() >= deadline
            for conn, since in live.items():
                if since is not None or late:
                    _cut(conn)
            if not threads or late:
                break
            threads[0].join(timeout=0.05)
        for thread in threads:
            thread.join(timeout=0.5)

    def server_close(self) -> None:
        self.socket.close()


def _cut(conn: socket.socket) -> None:
    """Shut the TCP connection down under its thread: a blocked read returns at once. The
    plain socket method: SSLSocket.shutdown would drop its TLS state under the reader."""
    with contextlib.suppress(OSError):  # already closed
        socket.socket.shutdown(conn, socket.SHUT_RDWR)


def _close(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.close()
