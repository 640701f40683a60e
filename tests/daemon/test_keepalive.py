"""The daemon's HTTPS face keeps connections alive: a client's requests share one TLS connection
(no handshake per request), a body the application left unread never leaks into the next
request, idle connections close after a timeout, and stop() does not wait for idle clients."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.daemon.http_server import IDLE_TIMEOUT_S, KeepAliveServer
from emulator.daemon.server import LOOPBACK, EmulatorServer
from emulator.store.root import EmulatorRoot

METADATA = "/metadata/endpoints?api-version=2019-05-01"
#: A workspace PUT without a token: ARM answers 401 before reading the body.
UNAUTHENTICATED_PUT = (
    "/subscriptions/sub-1/resourceGroups/rg-1/providers/"
    "Microsoft.MachineLearningServices/workspaces/ws-1?api-version=2024-10-01-preview"
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorRoot(tmp_path / "root")) as started:
        yield started


def _context(server: EmulatorServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.ca.ca_cert))


def _connection(server: EmulatorServer) -> http.client.HTTPSConnection:
    return http.client.HTTPSConnection(LOOPBACK, server.port, context=_context(server), timeout=30)


def _metadata(conn: http.client.HTTPConnection) -> tuple[http.client.HTTPResponse, Any]:
    conn.request("GET", METADATA)
    answer = conn.getresponse()
    [cloud] = json.loads(answer.read())  # ARM's cloud list: the emulator's one cloud
    return answer, cloud


def test_two_requests_share_one_tls_connection(server: EmulatorServer) -> None:
    conn = _connection(server)
    first, first_body = _metadata(conn)
    sock = conn.sock
    second, second_body = _metadata(conn)
    assert (first.status, second.status) == (200, 200)
    assert first_body == second_body and "authentication" in first_body
    assert not first.will_close and first.getheader("Connection") is None
    assert conn.sock is sock, "the client had to reconnect for its second request"
    conn.close()


def test_an_unread_request_body_does_not_reach_the_next_request(server: EmulatorServer) -> None:
    conn = _connection(server)
    # A body that looks like a request: were it left in the stream, it would be answered next.
    smuggled = b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n" * 3000
    conn.request("PUT", UNAUTHENTICATED_PUT, body=smuggled)
    refused = conn.getresponse()
    assert refused.status == 401 and b"AuthenticationFailed" in refused.read()
    sock = conn.sock
    answer, body = _metadata(conn)
    assert answer.status == 200 and "authentication" in body
    # The same with a chunked body.
    conn.request("PUT", UNAUTHENTICATED_PUT, body=iter([smuggled[:5000], smuggled[5000:]]))
    assert conn.getresponse().read() and conn.sock is sock
    answer, body = _metadata(conn)
    assert answer.status == 200 and "authentication" in body and conn.sock is sock
    conn.close()


def _raw_answers(tls: ssl.SSLSocket, count: int) -> list[tuple[int, dict[str, str], bytes]]:
    """``count`` answers read off one socket (http.client on a shared reader)."""
    reader = tls.makefile("rb")

    class _Kept:  # http.client closes an answer's file once read: the next one needs it
        def __getattr__(self, name: str) -> Any:
            return getattr(reader, name)

        def close(self) -> None:
            pass

    class _Shared:
        def makefile(self, *args: object, **kwargs: object) -> Any:
            return _Kept()

    answers = []
    for _ in range(count):
        answer = http.client.HTTPResponse(_Shared())  # type: ignore[arg-type]
        answer.begin()
        answers.append((answer.status, dict(answer.getheaders()), answer.read()))
    return answers


def test_pipelined_requests_after_an_unread_body_are_answered_in_order(
    server: EmulatorServer,
) -> None:
    body = b"x" * 10000
    with (
        socket.create_connection((LOOPBACK, server.port)) as raw,
        _context(server).wrap_socket(raw, server_hostname=LOOPBACK) as tls,
    ):
        tls.sendall(
            f"PUT {UNAUTHENTICATED_PUT} HTTP/1.1\r\nHost: a\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
            + f"GET {METADATA} HTTP/1.1\r\nHost: a\r\n\r\n".encode()
            + f"GET {METADATA} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode()
        )
        answers = _raw_answers(tls, 3)
        assert [status for status, _, _ in answers] == [401, 200, 200]
        assert answers[2][1]["Connection"] == "close"
        assert tls.recv(1) == b""  # the client asked to close: the server closed


def test_a_broken_content_length_is_refused_and_the_connection_closed(
    server: EmulatorServer,
) -> None:
    with (
        socket.create_connection((LOOPBACK, server.port)) as raw,
        _context(server).wrap_socket(raw, server_hostname=LOOPBACK) as tls,
    ):
        tls.sendall(f"PUT {METADATA} HTTP/1.1\r\nHost: a\r\nContent-Length: 12x\r\n\r\n".encode())
        [(status, headers, text)] = _raw_answers(tls, 1)
        assert status == 400 and b"Content-Length" in text
        assert headers["Connection"] == "close" and tls.recv(1) == b""


def test_stop_closes_idle_kept_alive_connections_at_once(tmp_path: Path) -> None:
    server = EmulatorServer(EmulatorRoot(tmp_path / "root")).start()
    clients = [_connection(server) for _ in range(3)]
    for conn in clients:
        assert _metadata(conn)[0].status == 200
    began = time.monotonic()
    server.stop()
    # Waiting for the clients' idle timeout would take IDLE_TIMEOUT_S.
    assert time.monotonic() - began < IDLE_TIMEOUT_S / 2
    for conn in clients:
        assert conn.sock is not None and conn.sock.recv(1) == b""
        conn.close()


# The server itself, with a small WSGI app of the test's.


def _app(entered: threading.Event, release: threading.Event) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes] | Iterator[bytes]:
        if environ["PATH_INFO"] == "/stream":  # no Content-Length: chunked
            start_response("200 OK", [("Content-Type", "text/plain")])
            return iter([b"one ", b"", b"two"])
        if environ["PATH_INFO"] == "/slow":
            entered.set()
            release.wait(30)
        data = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Length", str(len(data) + 3))])
        return [b"ok:", data]

    return app


@pytest.fixture
def plain() -> Iterator[tuple[KeepAliveServer, threading.Event, threading.Event]]:
    entered, release = threading.Event(), threading.Event()
    listener = socket.create_server((LOOPBACK, 0))
    server = KeepAliveServer(listener, _app(entered, release), max_connections=2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, entered, release
    release.set()
    server.shutdown()
    server.server_close()
    thread.join()


def _plain(server: KeepAliveServer) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(LOOPBACK, server.server_address[1], timeout=30)


def test_answers_without_a_length_are_chunked_and_the_connection_kept(
    plain: tuple[KeepAliveServer, threading.Event, threading.Event],
) -> None:
    conn = _plain(plain[0])
    conn.request("GET", "/stream")
    answer = conn.getresponse()
    assert answer.getheader("Transfer-Encoding") == "chunked" and answer.read() == b"one two"
    sock = conn.sock
    conn.request("POST", "/echo", body=b"abc")
    assert conn.getresponse().read() == b"ok:abc" and conn.sock is sock
    conn.close()


def test_an_http_1_0_client_gets_its_connection_closed(
    plain: tuple[KeepAliveServer, threading.Event, threading.Event],
) -> None:
    with socket.create_connection((LOOPBACK, plain[0].server_address[1])) as sock:
        sock.sendall(b"GET /stream HTTP/1.0\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200") and received.endswith(b"\r\n\r\none two")
    assert b"Connection: close" in received and b"chunked" not in received


def test_all_connections_taken_the_longest_idle_one_makes_room(
    plain: tuple[KeepAliveServer, threading.Event, threading.Event],
) -> None:
    first, second = _plain(plain[0]), _plain(plain[0])
    for conn in (first, second):
        conn.request("POST", "/echo", body=b"1")
        assert conn.getresponse().read() == b"ok:1"
    third = _plain(plain[0])
    third.request("POST", "/echo", body=b"3")
    assert third.getresponse().read() == b"ok:3"
    assert first.sock is not None and first.sock.recv(1) == b""  # closed for the newcomer
    second.request("POST", "/echo", body=b"2")
    assert second.getresponse().read() == b"ok:2"
    for conn in (first, second, third):
        conn.close()


def test_stop_lets_a_request_in_progress_finish_and_then_closes(
    plain: tuple[KeepAliveServer, threading.Event, threading.Event],
) -> None:
    server, entered, release = plain
    conn = _plain(server)
    conn.request("POST", "/slow", body=b"s")
    assert entered.wait(30)
    stopping = threading.Thread(target=server.shutdown)
    stopping.start()
    release.set()
    answer = conn.getresponse()
    assert answer.read() == b"ok:s" and answer.getheader("Connection") == "close"
    stopping.join()
    conn.close()
