"""Tiny replicas and a blocking HTTP client for the gateway tests.

A :class:`FakeReplica` is a real HTTP server on 127.0.0.1 (port 0) built on the scoring
server's own protocol, running on its own event loop thread. It answers every request with a
JSON echo (its id, method, target, headers, body), sleeps first when the request carries
``x-test-sleep: <seconds>``, and counts requests, connections and the peak concurrency.
:class:`ScoringServer` runs the project's real scoring server instead.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.server.messages import HttpRequest, HttpResponse
from emulator.server.protocol import HttpProtocol
from emulator.services import Replica


class FakeReplica:
    def __init__(self, ident: str, delay: float = 0.0, ready: bool = True) -> None:
        self.ident = ident
        self.delay = delay
        self.ready = ready
        self.hits = 0
        self.active = 0
        self.peak = 0
        self.connections: set[HttpProtocol] = set()
        self.opened = 0
        started = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def open() -> asyncio.Server:
            return await self._loop.create_server(self._protocol, "127.0.0.1", 0)

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(open())
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert started.wait(10)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def _protocol(self) -> HttpProtocol:
        self.opened += 1
        return HttpProtocol(self._handle, self.connections)

    async def _handle(self, request: HttpRequest) -> HttpResponse:
        self.hits += 1
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            delay = float(request.header("x-test-sleep") or self.delay)
            if delay:
                await asyncio.sleep(delay)
        finally:
            self.active -= 1
        body = json.dumps(
            {
                "replica": self.ident,
                "method": request.method,
                "target": request.target,
                "headers": [list(pair) for pair in request.headers],
                "body": request.body.decode("latin-1"),
            }
        ).encode()
        return HttpResponse(
            200, [("Content-Type", "application/json"), ("X-Replica", self.ident)], body
        )

    @property
    def replica(self) -> Replica:
        return Replica(id=self.ident, port=self.port, ready=self.ready)

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            for connection in list(self.connections):
                connection.close()

        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)


class Pool:
    """A provider over fake replicas (what the runtime will be for the gateway)."""

    def __init__(self, replicas: Iterable[FakeReplica] = ()) -> None:
        self.members = list(replicas)

    def replicas(self) -> list[Replica]:
        return [member.replica for member in self.members]


@dataclass
class Answer:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    elapsed: float

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


def call(
    port: int,
    path: str,
    method: str = "POST",
    body: bytes | None = b"{}",
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Answer:
    """One request on a fresh connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.monotonic()
    try:
        connection.request(
            method, path, body=body if method != "GET" else None, headers=headers or {}
        )
        response = connection.getresponse()
        data = response.read()
        return Answer(
            response.status,
            response.reason,
            response.getheaders(),
            data,
            time.monotonic() - started,
        )
    finally:
        connection.close()


def concurrently(calls: list[Callable[[], Answer]], stagger: float = 0.0) -> list[Answer]:
    """Run the calls in parallel threads (``stagger`` seconds apart), answers in call order."""
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = []
        for function in calls:
            futures.append(pool.submit(function))
            if stagger:
                time.sleep(stagger)
        return [future.result() for future in futures]


def wait_until(predicate: Callable[[], bool], limit: float = 10, step: float = 0.02) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(step)


REPO = Path(__file__).resolve().parents[2]
ECHO_SCRIPT = REPO / "fixtures" / "scoring" / "score_echo.py"
_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


class ScoringServer:
    """The project's scoring server (``python -m emulator.server``) as a replica."""

    def __init__(self, workdir: Path, script: Path = ECHO_SCRIPT) -> None:
        self.log = workdir / "server.log"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AZUREML_")}
        command = [sys.executable, "-m", "emulator.server", "--entry_script", str(script)]
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [*command, "--port", "0"],
                cwd=workdir,
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 60
        while not (match := _LISTENING.search(self.log.read_text(errors="replace"))):
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.05)
        self.port = int(match.group(1))
        assert call(self.port, "/", "GET", timeout=60).status == 200  # init() done

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
