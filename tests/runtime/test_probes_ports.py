"""HTTP probes against real sockets, and port reservations under contention."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from emulator.runtime.ports import PortReservation
from emulator.runtime.probes import ProbeCounter, ProbeResult, ProbeSettings, http_probe


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 200 if self.path == "/" else 500
        self.send_response(status)
        self.send_header("Content-Length", "7")
        self.end_headers()
        self.wfile.write(b"Healthy")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_http_probe_outcomes(http_port: int) -> None:
    assert http_probe(http_port, 2) == ProbeResult(True, "HTTP 200")
    assert http_probe(http_port, 2, "/broken") == ProbeResult(False, "HTTP 500")

    reservation = PortReservation()  # bound, nobody listening
    try:
        assert http_probe(reservation.port, 2) == ProbeResult(False, "connection refused")
    finally:
        reservation.release()

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        result = http_probe(silent.getsockname()[1], 0.2)
    assert result == ProbeResult(False, "no answer within 0.2 s")


def test_probe_counter_counts_consecutive_results() -> None:
    counter = ProbeCounter(ProbeSettings(success_threshold=2, failure_threshold=2))
    ok, bad = ProbeResult(True, "HTTP 200"), ProbeResult(False, "HTTP 500")
    for result in (bad, ok, bad, ok):
        counter.observe(result)
        assert not counter.passed and not counter.failed
    counter.observe(ok)
    assert counter.passed
    counter.observe(bad)
    counter.observe(bad)
    assert counter.failed and counter.last == bad


def test_probe_settings_have_akss_defaults_and_are_validated() -> None:
    assert ProbeSettings() == ProbeSettings(10, 310, 2, 1, 3)
    with pytest.raises(ValueError, match="failure_threshold must be greater than zero"):
        ProbeSettings(failure_threshold=0)
    with pytest.raises(ValueError, match="initial_delay_seconds must not be negative"):
        ProbeSettings(initial_delay_seconds=-1)


def test_a_reserved_port_is_bindable_by_the_server_only() -> None:
    reservation = PortReservation()
    try:
        others = []
        for _ in range(300):  # ephemeral binds (other tests, other servers) never get it
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            others.append(sock)
        assert reservation.port not in {sock.getsockname()[1] for sock in others}
        for sock in others:
            sock.close()

        for _ in range(2):  # the server binds it, dies, its restart binds it again
            server = socket.socket()
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", reservation.port))
            server.listen()
            with socket.create_connection(("127.0.0.1", reservation.port)):
                pass
            server.close()
    finally:
        reservation.release()
    reservation.release()  # idempotent
    assert "released" in repr(reservation)
