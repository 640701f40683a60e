"""How the portal reads services' counters: only from loopback gateways, and nothing from an
answer that is not an emulator gateway's."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from emulator.portal import metrics

GOOD = {"statuses": {"200": 3}, "scored": 3, "scoringSeconds": 0.01, "replicas": 1}


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("http://127.0.0.1:5001/score", ("127.0.0.1", 5001)),
        ("http://localhost:8890/api/v1/service/svc/score", ("localhost", 8890)),
        ("http://[::1]:7000/score", ("::1", 7000)),
        ("http://svc.eastus.azurecontainer.io/score", None),  # Azure-shaped (the mock's)
        ("http://203.0.113.7:80/api/v1/service/svc/score", None),  # not this machine
        ("http://127.0.0.1/score", None),
        ("http://127.0.0.1:99999/score", None),
        (None, None),
    ],
)
def test_only_loopback_gateways_are_read(uri: str | None, expected: object) -> None:
    assert metrics._gateway(uri) == expected


@pytest.fixture
def answering() -> Iterator[tuple[list[object], tuple[str, int]]]:
    """A loopback HTTP server answering ``GET /.amlemu/metrics`` with the JSON set in the list."""
    document: list[object] = [None]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(document[0]).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield document, ("127.0.0.1", server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_counters_are_taken_only_from_a_gateways_answer(
    answering: tuple[list[object], tuple[str, int]],
) -> None:
    document, address = answering
    document[0] = {"svc": GOOD, "other": {"requests": 1}}
    assert metrics._read(address) == {"svc": GOOD}  # incomplete entries are skipped
    for junk in ([1, 2], "Healthy", None):
        document[0] = junk
        assert metrics._read(address) == {}


def test_a_gateway_that_is_gone_gives_nothing() -> None:
    with HTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]
    assert metrics._read(("127.0.0.1", port)) == {}
