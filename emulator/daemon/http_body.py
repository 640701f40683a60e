"""A request body read off a kept-alive connection: exactly its bytes, never the next request's.

An application may leave a body unread (an early 401, a 404); its bytes stay in the stream in
front of the next request line. The server reads them away (:meth:`drain`) before reading
the next request, or closes the connection when too many are left.
"""

from __future__ import annotations

import io
from email.message import Message
from typing import Any

#: Unread request-body bytes read away to keep a connection; a larger rest closes it instead.
DRAIN_LIMIT = 1 << 20


class BadRequestBody(ValueError):
    """The request's framing cannot be read (bad Content-Length, unknown Transfer-Encoding)."""


class LengthBody(io.RawIOBase):
    """``wsgi.input``: the request body and nothing past it, with what is left to drain."""

    def __init__(self, rfile: io.BufferedIOBase, length: int) -> None:
        self._rfile = rfile
        self._left = length
        self.broken = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._left)
        if want <= 0:
            return 0
        data = self._rfile.read1(want)
        if not data:  # the client went away: the application sees a short body
            self._left = 0
            self.broken = True
            return 0
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)

    def unread_over(self, limit: int) -> bool:
        """Whether more than ``limit`` bytes are still to come (known before reading them)."""
        return self._left > limit

    def drain(self, limit: int) -> bool:
        """Read away the rest (at most ``limit`` bytes); whether the connection is usable."""
        while self._left > 0 and limit > 0:
            got = len(self.read(min(self._left, limit, 65536)) or b"")
            if got == 0:
                return False
            limit -= got
        return self._left == 0 and not self.broken


class ChunkedBody(io.RawIOBase):
    """``wsgi.input`` of a ``Transfer-Encoding: chunked`` request, decoded (trailers skipped)."""

    def __init__(self, rfile: io.BufferedIOBase) -> None:
        self._rfile = rfile
        self._chunk_left = 0
        self.done = False
        self.broken = False

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> None:
        line = self._rfile.readline(1024)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            self.broken = True
            raise BadRequestBody(f"Invalid chunk size line {line[:40]!r}.") from None
        if size < 0:
            self.broken = True
            raise BadRequestBody("Negative chunk size.")
        if size == 0:
            while self._rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                pass  # trailer fields: not passed on
            self.done = True
        self._chunk_left = size

    def readinto(self, buffer: Any) -> int:
        if self.done or self.broken:
            return 0
        if self._chunk_left == 0:
            self._next_chunk()
            if self.done:
                return 0
        data = self._rfile.read1(min(len(buffer), self._chunk_left))
        if not data:
            self.broken = True
            return 0
        buffer[: len(data)] = data
        self._chunk_left -= len(data)
        if self._chunk_left == 0 and self._rfile.readline(3) not in (b"\r\n", b"\n"):
            self.broken = True
            raise BadRequestBody("A chunk does not end with CRLF.")
        return len(data)

    def unread_over(self, limit: int) -> bool:
        return False  # unknown until read

    def drain(self, limit: int) -> bool:
        try:
            while not self.done and not self.broken and limit > 0:
                got = len(self.read(min(limit, 65536)) or b"")
                if got == 0:
                    break
                limit -= got
        except (BadRequestBody, OSError):
            return False
        return self.done and not self.broken


def request_body(headers: Message, rfile: io.BufferedIOBase) -> RequestBody:
    """``wsgi.input`` for a request with these headers, reading from ``rfile``."""
    encoding = headers.get("Transfer-Encoding")
    if encoding is not None:
        if encoding.strip().lower() != "chunked":
            raise BadRequestBody(
                f"Transfer-Encoding {encoding!r} is not supported; send chunked or Content-Length."
            )
        return ChunkedBody(rfile)
    lengths = headers.get_all("Content-Length") or []
    if not lengths:
        return LengthBody(rfile, 0)
    if len(set(lengths)) > 1 or not lengths[0].strip().isdigit():
        raise BadRequestBody(f"Invalid Content-Length {', '.join(lengths)!r}.")
    return LengthBody(rfile, int(lengths[0]))


RequestBody = LengthBody | ChunkedBody
