"""The daemon server's request heads: header fields read as http.server read them (without the
email package), bad heads answered with http.server's errors, good ones kept alive."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from emulator.daemon.http_head import MAX_HEADERS, BadHead, read_headers
from emulator.daemon.http_server import KeepAliveServer


def _fields(raw: bytes) -> list[tuple[str, str]]:
    return list(read_headers(io.BytesIO(raw)).items())


def test_fields_keep_their_names_order_and_repetitions() -> None:
    rest = io.BytesIO(
        b"Host: 127.0.0.1:1\r\nContent-Type:application/json \r\nX-A: 1\r\nx-a: 2\r\n\r\nbody"
    )
    headers = read_headers(rest)
    assert headers.items() == [
        ("Host", "127.0.0.1:1"),
        ("Content-Type", "application/json"),
        ("X-A", "1"),
        ("x-a", "2"),
    ]
    assert headers.get_all("X-A") == ["1", "2"] and headers["content-type"] == "application/json"
    assert rest.read() == b"body"  # the body is left for the request's body reader
    assert _fields(b"") == [] and _fields(b"\n") == []


def test_a_folded_line_continues_the_field_before_it() -> None:
    assert _fields(b"X-Long: one\r\n  two\r\n\tthree\r\nX-B: b\r\n\r\n") == [
        ("X-Long", "one\r\n  two\r\n\tthree"),  # as the email parser joined it
        ("X-B", "b"),
    ]


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        (b"no colon here\r\n\r\n", 400, "Bad header line 'no colon here'"),
        (b"Bad Name: x\r\n\r\n", 400, "Bad header line"),
        (b"Name : x\r\n\r\n", 400, "Bad header line"),
        (b": x\r\n\r\n", 400, "Bad header line"),
        (b" folded-first: x\r\n\r\n", 400, "Bad header line"),
        (b"X: " + b"a" * 65536 + b"\r\n\r\n", 431, "Line too long"),
        (b"X: y\r\n" * (MAX_HEADERS + 1) + b"\r\n", 431, "Too many headers"),
    ],
)
def test_a_bad_head_is_refused_with_its_status(raw: bytes, status: int, message: str) -> None:
    with pytest.raises(BadHead) as refused:
        read_headers(io.BytesIO(raw))
    assert refused.value.status == status and message in refused.value.message


def test_exactly_the_limit_of_fields_is_read() -> None:
    assert len(_fields(b"X: y\r\n" * MAX_HEADERS + b"\r\n")) == MAX_HEADERS


@pytest.fixture
def server() -> Iterator[int]:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} {environ.get('HTTP_X_A')}"
        start_response("200 OK", [("Content-Length", str(len(seen)))])
        return [seen.encode()]

    listener = socket.create_server(("127.0.0.1", 0))
    served = KeepAliveServer(listener, app)
    thread = threading.Thread(target=served.serve_forever, daemon=True)
    thread.start()
    yield served.server_address[1]
    served.shutdown()
    served.server_close()
    thread.join()


def _exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(data)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    return received


def test_over_the_wire_good_heads_are_served_and_bad_ones_refused(server: int) -> None:
    answer = _exchange(
        server, b"GET //double HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\nConnection: close\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"GET /double 1,2")

    bad_field = _exchange(server, b"GET / HTTP/1.1\r\nno colon\r\n\r\n")
    assert bad_field.startswith(b"HTTP/1.1 400 Bad header line 'no colon'")
    too_new = _exchange(server, b"GET / HTTP/2.0\r\n\r\n")
    assert b"505" in too_new and b"Invalid HTTP version (2.0)" in too_new
    bad_version = _exchange(server, b"GET / HTTP/1.x\r\n\r\n")
    assert b"Bad request version" in bad_version
    assert b"Bad request syntax" in _exchange(server, b"GET / HTTP/1.1 extra\r\n\r\n")
    assert b"Bad HTTP/0.9 request type ('POST')" in _exchange(server, b"POST /\r\n\r\n")
    # Expect: 100-continue is answered before the body is sent
    continued = _exchange(
        server,
        b"POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 0\r\n"
        b"Connection: close\r\n\r\n",
    )
    assert continued.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")
