"""The head of a request (request line and header fields) for the daemon's HTTP/1.1 server.

:mod:`http.server` reads the header fields with the :mod:`email` package's parser, which takes
about 65 µs for the seven fields azure-ai-ml sends; every request to the emulator's HTTPS face
(each ARM call, each scoring request) paid it. :class:`RequestHead` is http.server's
``parse_request`` (same checks, same error answers: 400, 505, 431, ``100 Continue``) with the
fields read line by line into the same :class:`http.client.HTTPMessage` (about 5 µs).

Header fields as RFC 9112 reads them: ``name: value``, the value without the whitespace around
it; an obsolete folded line (starting with a space or tab) continues the field before it, as
the email parser joined it. A line that is not a field (no ``:``, or whitespace in the name,
which RFC 9112 section 5.1 says to reject) is answered 400 instead of ending the head silently
and dropping the fields after it, as the email parser did.
"""

from __future__ import annotations

import http.client
import http.server
import io
from http import HTTPStatus

#: Bytes in one header line, and header fields in one request: http.client's limits, which
#: http.server applied (answered 431).
MAX_LINE = 65536
MAX_HEADERS = 100

_END = (b"\r\n", b"\n", b"")


class BadHead(Exception):
    """The head cannot be served; ``status`` is the answer, ``message`` and ``explain`` its
    text (as :meth:`BaseHTTPRequestHandler.send_error` takes them)."""

    def __init__(self, status: HTTPStatus, message: str, explain: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.explain = explain


def read_headers(rfile: io.BufferedIOBase) -> http.client.HTTPMessage:
    """The header fields up to the empty line that ends them (or the end of the stream)."""
    headers = http.client.HTTPMessage()
    name: str | None = None
    value = ""
    count = 0
    while True:
        line = rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise BadHead(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long", "header line"
            )
        if line in _END:
            break
        count += 1
        if count > MAX_HEADERS:
            raise BadHead(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                "Too many headers",
                f"got more than {MAX_HEADERS} headers",
            )
        text = line.decode("iso-8859-1")
        if text[0] in " \t" and name is not None:  # obs-fold: the field before goes on
            value += text
            continue
        if name is not None:
            headers[name] = value.rstrip("\r\n").strip(" \t")
        name, colon, value = text.partition(":")
        if not colon or not name or name != name.strip() or " " in name or "\t" in name:
            raise BadHead(HTTPStatus.BAD_REQUEST, f"Bad header line {text.rstrip()[:80]!r}")
    if name is not None:
        headers[name] = value.rstrip("\r\n").strip(" \t")
    return headers


class RequestHead(http.server.BaseHTTPRequestHandler):
    """http.server's request handler with :func:`read_headers` for the header fields."""

    raw_requestline: bytes  # read by BaseHTTPRequestHandler.handle_one_request

    def parse_request(self) -> bool:
        """Parse ``self.raw_requestline`` and the header fields after it, as http.server does
        (``command``, ``path``, ``request_version``, ``headers``, ``close_connection``); on
        failure the error answer is sent and False returned."""
        self.command = None  # type: ignore[assignment]  # set in case of a bad first line
        self.request_version = version = self.default_request_version
        self.close_connection = True
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = requestline
        words = requestline.split()
        if not words:
            return False
        try:
            if len(words) >= 3:  # enough to know the protocol version
                version = words[-1]
                number = _version(version)
                if number >= (1, 1) and self.protocol_version >= "HTTP/1.1":
                    self.close_connection = False
                if number >= (2, 0):
                    raise BadHead(
                        HTTPStatus.HTTP_VERSION_NOT_SUPPORTED,
                        f"Invalid HTTP version ({version.split('/', 1)[1]})",
                    )
                self.request_version = version
            if not 2 <= len(words) <= 3:
                raise BadHead(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({requestline!r})")
            command, path = words[:2]
            if len(words) == 2:
                self.close_connection = True
                if command != "GET":
                    raise BadHead(
                        HTTPStatus.BAD_REQUEST, f"Bad HTTP/0.9 request type ({command!r})"
                    )
            self.command, self.path = command, path
            if self.path.startswith("//"):  # http.server's guard against open redirects
                self.path = "/" + self.path.lstrip("/")
            self.headers = read_headers(self.rfile)
        except BadHead as bad:
            self.send_error(bad.status, bad.message, bad.explain)
            return False
        connection = self.headers.get("Connection", "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        expect = self.headers.get("Expect", "").lower()
        if (
            expect == "100-continue"
            and self.protocol_version >= "HTTP/1.1"
            and self.request_version >= "HTTP/1.1"
        ):
            return self.handle_expect_100()
        return True


def _version(text: str) -> tuple[int, int]:
    """``HTTP/1.1`` → (1, 1); 400 for anything else (RFC 2145: two integers, leading zeros
    ignored)."""
    parts = text[5:].split(".") if text.startswith("HTTP/") else []
    if (
        len(parts) != 2
        or not all(part.isascii() and part.isdigit() for part in parts)
        or any(len(part) > 10 for part in parts)
    ):
        raise BadHead(HTTPStatus.BAD_REQUEST, f"Bad request version ({text!r})")
    return int(parts[0]), int(parts[1])
