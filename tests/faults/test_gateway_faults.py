"""Front faults and the gateway's own limits, on a real gateway in front of a tiny replica."""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.faults import ServiceFaults
from emulator.faults.store import FaultStore
from emulator.server.messages import HttpRequest, HttpResponse
from emulator.server.protocol import HttpProtocol
from emulator.services import Gateway, Replica, ServiceSettings
from emulator.services.injection.front import FrontFaults


class EchoReplica:
    """An HTTP server on 127.0.0.1 answering every request with the size of its body."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        started = threading.Event()

        async def answer(request: HttpRequest) -> HttpResponse:
            return HttpResponse(
                200, [("Content-Type", "text/plain")], str(len(request.body)).encode()
            )

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            server = self._loop.run_until_complete(
                self._loop.create_server(lambda: HttpProtocol(answer, set()), "127.0.0.1", 0)
            )
            self.port = int(server.sockets[0].getsockname()[1])
            started.set()
            self._loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        assert started.wait(10)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)


@pytest.fixture
def front(tmp_path: Path) -> Iterator[tuple[Gateway, ServiceFaults]]:
    replica = EchoReplica()
    gateway = Gateway("aks", max_body_bytes=1000, read_timeout=0.5)
    gateway.start()
    route = gateway.add_service(
        "svc",
        lambda: [Replica(id="r0", port=replica.port)],
        ServiceSettings(replica_max_concurrent_requests=None, scoring_timeout_ms=400),
    )
    route.faults = FrontFaults(FaultStore.for_service(tmp_path, 1, "svc"), "svc")
    yield gateway, ServiceFaults(tmp_path, 1, "svc")
    gateway.stop()
    replica.stop()


def _post(gateway: Gateway, body: bytes = b"{}") -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    try:
        connection.request("POST", "/api/v1/service/svc/score", body)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_status_drop_and_latency(front: tuple[Gateway, ServiceFaults]) -> None:
    gateway, faults = front
    assert _post(gateway)[0] == 200
    with faults.status(429) as handle:
        status, headers, body = _post(gateway)
        assert (status, body) == (429, b"Too Many Requests (service svc)")
        assert headers["x-amlemu-fault"] == handle.id
        assert "amlemu faults clear svc" in headers["x-amlemu-hint"]
    with faults.drop(), pytest.raises(http.client.RemoteDisconnected):
        _post(gateway)
    with faults.latency(0.15):
        started = time.monotonic()
        assert _post(gateway)[0] == 200
        assert time.monotonic() - started >= 0.15
    with faults.latency(1.0):  # past scoring_timeout_ms=400: the front's 504
        started = time.monotonic()
        status, _, body = _post(gateway)
        assert status == 504 and b"after 400 ms" in body
        assert 0.35 < time.monotonic() - started < 0.9
    assert _post(gateway)[0] == 200
    metrics = gateway.service("svc").metrics()
    assert metrics.statuses[429] == 1 and metrics.timeouts == 1


def test_oversized_bodies_get_413(front: tuple[Gateway, ServiceFaults]) -> None:
    gateway, _ = front
    status, _, body = _post(gateway, b"x" * 1000)
    assert (status, body) == (200, b"1000")
    status, _, body = _post(gateway, b"x" * 1001)
    assert status == 413 and b"limit of 1000 bytes (max_body_bytes)" in body
    # A client streaming a large body without announcing its length (chunked) is cut off too,
    # and still reads the answer instead of a reset.
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall(
            b"POST /api/v1/service/svc/score HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        for _ in range(20):
            sock.sendall(b"100\r\n" + b"y" * 256 + b"\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 413 Payload Too Large")


def test_slow_and_flooding_clients_are_cut_off(front: tuple[Gateway, ServiceFaults]) -> None:
    gateway, _ = front
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /api/v1/service/svc/score HTTP/1.1\r\nHost: x\r\n")
        for _ in range(3):  # slowloris: a header now and then, never the end
            time.sleep(0.1)
            sock.sendall(b"X-Slow: 1\r\n")
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout")
        assert time.monotonic() - started < 2
    flood = b"".join(b"X-Flood-%d: 1\r\n" % n for n in range(150))
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall(b"GET /api/v1/service/svc/score HTTP/1.1\r\nHost: x\r\n" + flood + b"\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 431 Request Header Fields Too Large")
    assert _post(gateway)[0] == 200  # and it keeps serving
