"""Streaming from ``run()`` (``AMLResponse`` wrapping a generator) against azmlinfsrv 1.5.1's
recording, ``tests/golden/infsrv-stream-chunks.txt`` (read here at test time).

The recording's sleeps are replaced by a handshake: the scoring script waits for a file before
each chunk after the first, and the test creates it only once it has received the previous
chunk, so a server that held chunks back would never deliver the first one (no timing).
"""

from __future__ import annotations

import ast
import asyncio
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from golden_transcripts import golden
from server_harness import UUID, ServerProcess, parse_reply

from emulator.server.streaming import HIGH_WATER, ChunkStream, StreamBroken

GOLDEN = golden("infsrv-stream-chunks.txt")
#: Headers gunicorn adds that the emulator does not claim (it keeps connections alive).
UNCOMPARED = {"server", "date", "connection"}
PER_RUN = {"x-request-id", "x-ms-request-id", "x-ms-run-fn-exec-ms"}
WAIT_S = 30.0
StartServer = Callable[..., ServerProcess]


def golden_sections() -> dict[str, list[str]]:
    """The recording's ``## name`` sections, as lines."""
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for line in GOLDEN.read_bytes().decode().split("\n"):
        if line.startswith("## "):
            current = sections.setdefault(line[3:], [])
        else:
            current.append(line)
    return sections


def golden_raw(case: str) -> tuple[bytes, str]:
    """The bytes azmlinfsrv sent in ``case`` and how the exchange ended (EOF, hung up)."""
    data = b""
    ending = ""
    for line in golden_sections()[f"raw: {case}"]:
        match = re.fullmatch(r"\+\d+\.\d+s (.*)", line)
        if match is None:
            continue
        value = match.group(1)
        if value in ("EOF", "hung up"):
            ending = value
        else:
            data += ast.literal_eval(value)
    return data, ending


def golden_log(case: str) -> list[str]:
    """The messages (after ``logger - ``) of the stdout lines the recording wrote for ``case``."""
    lines = golden_sections()["log: stdout from the worker being ready"]
    wanted = f"/score?mode={case} "
    return [line.split(" - ", 1)[1] for line in lines if wanted in line]


def shape(message: str) -> re.Pattern[str]:
    """A logged message as a pattern: durations and the access line's clock vary per run."""
    pattern = re.escape(message)
    pattern = re.sub(r"\d+\\\.\d+ms", r"\\d+\\.\\d{3}ms", pattern)
    pattern = re.sub(r"\\\[[^\]]+\\\]", r"\\[[^\\]]+\\]", pattern)
    return re.compile(pattern)


def head_and_body(data: bytes) -> tuple[list[tuple[str, str]], str, bytes]:
    reply = parse_reply(data)
    headers = [(k, v) for k, v in reply.headers if k.lower() not in UNCOMPARED]
    return headers, reply.status_line, reply.body


def assert_same_head(ours: bytes, recorded: bytes) -> None:
    """Same status line, headers in the same order with the same values (per-run ones by
    shape)."""
    our_headers, our_status, _ = head_and_body(ours)
    their_headers, their_status, _ = head_and_body(recorded)
    assert our_status == their_status
    assert [k for k, _ in our_headers] == [k for k, _ in their_headers]
    for (name, ours_value), (_, theirs_value) in zip(our_headers, their_headers, strict=True):
        if name.lower() in ("x-request-id", "x-ms-request-id"):
            assert UUID.match(ours_value), (name, ours_value)
        elif name.lower() == "x-ms-run-fn-exec-ms":
            assert re.fullmatch(r"\d+\.\d{3}", ours_value)
        else:
            assert ours_value == theirs_value, name


class Exchange:
    """One request on a raw socket, its answer read as it arrives."""

    def __init__(self, port: int, target: str, version: str = "1.1") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
        self.data = b""
        lines = [
            f"POST {target} HTTP/{version}",
            f"Host: 127.0.0.1:{port}",
            "User-Agent: curl/7.88.1",
            "Accept: */*",
            "Content-Type: text/plain",
            "Content-Length: 2",
        ]
        if version == "1.1":
            lines.append("Connection: close")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\nhi").encode())

    def read_until(self, marker: bytes) -> bytes:
        """Read until ``marker`` has arrived (socket timeout: it never came)."""
        while marker not in self.data:
            chunk = self.sock.recv(65536)
            assert chunk, f"connection closed before {marker!r}: {self.data!r}"
            self.data += chunk
        return self.data

    def read_to_end(self) -> bytes:
        while chunk := self.sock.recv(65536):
            self.data += chunk
        return self.data

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def server(start_module_server: StartServer) -> ServerProcess:
    return start_module_server("score_stream.py", SCORING_TIMEOUT_MS="200").wait_ready()


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[Path]:
    """Files the scoring script waits for before each chunk after the first."""
    yield tmp_path / "gate"


def test_each_chunk_reaches_the_client_before_the_next_is_produced(
    server: ServerProcess, gate: Path
) -> None:
    recorded, ending = golden_raw("ok")
    exchange = Exchange(server.port, f"/score?mode=ok&gate={gate}")
    try:
        exchange.read_until(b"8\r\nchunk 0\n\r\n")  # the generator now waits for gate.1
        (gate.parent / "gate.1").touch()
        exchange.read_until(b"8\r\nchunk 1\n\r\n")
        (gate.parent / "gate.2").touch()
        ours = exchange.read_to_end()
    finally:
        exchange.close()
    assert ending == "EOF"
    assert_same_head(ours, recorded)
    assert head_and_body(ours)[2] == head_and_body(recorded)[2]  # chunk framing, byte for byte


def test_log_lines_give_na_for_the_size_then_the_bytes_sent(server: ServerProcess) -> None:
    before = len(server.stdout)
    exchange = Exchange(server.port, "/score?mode=ok")
    try:
        exchange.read_to_end()
    finally:
        exchange.close()
    expected = golden_log("ok")[:2]  # the first request's lines
    assert expected[0].startswith("POST /score?mode=ok 200 ") and expected[0].endswith("ms N/A")
    assert expected[1].endswith('"POST /score?mode=ok HTTP/1.1" 200 24 "-" "curl/7.88.1"')
    server.wait_for_log('"POST /score?mode=ok HTTP/1.1" 200 24')
    lines = server.stdout[before:].splitlines()
    ours = [line.split(" - ", 1)[1] for line in lines if "/score?mode=ok " in line]
    assert len(ours) == len(expected)
    for message, recorded in zip(ours, expected, strict=True):
        assert shape(recorded).fullmatch(message), (message, recorded)


def test_a_generator_raising_midway_cuts_the_stream(server: ServerProcess) -> None:
    recorded, ending = golden_raw("raise")
    exchange = Exchange(server.port, "/score?mode=raise")
    try:
        ours = exchange.read_to_end()
    finally:
        exchange.close()
    assert ending == "EOF"
    assert_same_head(ours, recorded)
    assert head_and_body(ours)[2] == head_and_body(recorded)[2] == b"8\r\nchunk 0\n\r\n"
    server.wait_for_log("RuntimeError: boom in the generator")
    assert "gunicorn.error - Error handling request\n" in server.stderr
    server.wait_for_log('"POST /score?mode=raise HTTP/1.1" 200 8 ')
    assert server.worker_pids()[-1:] == server.worker_pids()  # the worker serves on
    follow_up = Exchange(server.port, "/score?mode=ok")
    try:
        assert follow_up.read_to_end().endswith(b"0\r\n\r\n")
    finally:
        follow_up.close()


def test_a_generator_raising_before_its_first_chunk_gets_gunicorns_500_page(
    server: ServerProcess,
) -> None:
    recorded, _ = golden_raw("raise0")
    exchange = Exchange(server.port, "/score?mode=raise0")
    try:
        ours = exchange.read_to_end()
    finally:
        exchange.close()
    our_headers, our_status, our_body = head_and_body(ours)
    their_headers, their_status, their_body = head_and_body(recorded)
    assert (our_status, our_headers, our_body) == (their_status, their_headers, their_body)
    assert ("Connection", "close") in parse_reply(ours).headers
    server.wait_for_log("Error handling request POST /score?mode=raise0")
    server.wait_for_log('"POST /score?mode=raise0 HTTP/1.1" 500 0 "-" "-"')
    assert '"POST /score?mode=raise0 HTTP/1.1" 200 0 "-" "curl/7.88.1"' in server.stdout


def test_empty_items_are_not_sent(server: ServerProcess) -> None:
    recorded, _ = golden_raw("bytes")
    exchange = Exchange(server.port, "/score?mode=bytes")
    try:
        ours = exchange.read_to_end()
    finally:
        exchange.close()
    assert head_and_body(ours)[2] == head_and_body(recorded)[2]  # an empty chunk would end it


def test_an_http_1_0_client_gets_the_raw_body_ended_by_the_close(
    server: ServerProcess, gate: Path
) -> None:
    recorded, _ = golden_raw("http10")
    exchange = Exchange(server.port, f"/score?mode=ok&gate={gate}", version="1.0")
    try:
        exchange.read_until(b"chunk 0\n")
        (gate.parent / "gate.1").touch()
        (gate.parent / "gate.2").touch()
        ours = exchange.read_to_end()
    finally:
        exchange.close()
    assert_same_head(ours, recorded)
    assert ("Connection", "close") in parse_reply(ours).headers
    assert head_and_body(ours)[2] == head_and_body(recorded)[2] == b"chunk 0\nchunk 1\nchunk 2\n"


def test_the_scoring_timeout_does_not_cut_a_stream(server: ServerProcess) -> None:
    # recorded: SCORING_TIMEOUT_MS=1000 and ten chunks 0.5 s apart, all delivered
    recorded, _ = golden_raw("slow")
    assert head_and_body(recorded)[2].endswith(b"8\r\nchunk 9\n\r\n0\r\n\r\n")
    # here SCORING_TIMEOUT_MS=200; the stream lasts longer than that plus the kill grace
    exchange = Exchange(server.port, "/score?mode=ok&n=2&pause=0.7")
    try:
        ours = exchange.read_to_end()
    finally:
        exchange.close()
    assert head_and_body(ours)[2] == b"8\r\nchunk 0\n\r\n8\r\nchunk 1\n\r\n0\r\n\r\n"
    assert "WORKER TIMEOUT" not in server.stderr


def test_a_client_hanging_up_closes_the_generator(server: ServerProcess) -> None:
    exchange = Exchange(server.port, "/score?mode=ok&n=0&pause=0.01")  # endless
    try:
        exchange.read_until(b"chunk 1\n")
    finally:
        exchange.close()
    server.wait_for_log("generator closed after chunk")
    server.wait_for_log('"POST /score?mode=ok&n=0&pause=0.01 HTTP/1.1" 200 ')
    booted = server.worker_pids()
    follow_up = Exchange(server.port, "/score?mode=ok")
    try:
        assert follow_up.read_to_end().endswith(b"8\r\nchunk 2\n\r\n0\r\n\r\n")
    finally:
        follow_up.close()
    assert server.worker_pids() == booted  # the same worker, no replacement


def test_pipelined_requests_wait_for_the_stream_before_them(
    server: ServerProcess, gate: Path
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S) as sock:
        first = f"POST /score?mode=ok&n=2&gate={gate} HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
        second = (
            "POST /score?mode=ok&n=1 HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        )
        sock.sendall((first + second).encode())
        data = b""
        while b"chunk 0" not in data:
            data += sock.recv(65536)
        (gate.parent / "gate.1").touch()
        while chunk := sock.recv(65536):
            data += chunk
    answers = data.split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert len(answers) == 2
    assert answers[0].endswith(b"\r\n\r\n8\r\nchunk 0\n\r\n8\r\nchunk 1\n\r\n0\r\n\r\n")
    assert answers[1].endswith(b"\r\n\r\n8\r\nchunk 0\n\r\n0\r\n\r\n")


def test_the_worker_timeout_cuts_a_stream_and_replaces_the_worker(
    start_server: StartServer, gate: Path
) -> None:
    recorded, ending = golden_raw("worker-timeout")
    assert ending == "EOF" and not recorded.endswith(b"0\r\n\r\n")  # cut, as here
    server = start_server("score_stream.py", WORKER_TIMEOUT="1").wait_ready()
    exchange = Exchange(server.port, f"/score?mode=ok&gate={gate}")  # gate.1 never comes
    try:
        ours = exchange.read_to_end()
    finally:
        exchange.close()
    assert head_and_body(ours)[2] == b"8\r\nchunk 0\n\r\n"
    first = server.worker_pids()[0]
    server.wait_for_log(f"WORKER TIMEOUT (pid:{first})")
    server.wait_for_log('"POST /score?mode=ok&gate=')
    follow_up = Exchange(server.port, "/score?mode=ok&n=1")
    try:
        assert follow_up.read_to_end().endswith(b"8\r\nchunk 0\n\r\n0\r\n\r\n")
    finally:
        follow_up.close()
    assert len(server.worker_pids()) == 2


def test_a_slow_reader_holds_the_generator_back(server: ServerProcess, tmp_path: Path) -> None:
    progress = tmp_path / "progress"
    mib = 1 << 20
    exchange = Exchange(server.port, f"/score?mode=ok&n=0&size={mib}&progress={progress}")
    try:
        exchange.read_until(b"chunk 0\n")
        time.sleep(1.0)  # unread: socket buffers fill up, then the generator must wait
        made = int(progress.read_text())
        assert made < 64  # buffers hold a few MiB; a generator not held back makes GiBs
        exchange.read_until(f"chunk {made + 2}\n".encode())  # reading lets it go on
    finally:
        exchange.close()
    server.wait_for_log("generator closed after chunk ")


def test_a_chunk_stream_pauses_its_producer_until_the_client_has_caught_up() -> None:
    events: list[str] = []

    async def scenario() -> None:
        stream = ChunkStream(
            pause=lambda: events.append("pause"), resume=lambda: events.append("resume")
        )
        chunk = b"x" * (HIGH_WATER // 4)
        for _ in range(4):
            stream.put(chunk)
        assert events == []  # at the mark, not above it
        stream.put(chunk)
        assert events == ["pause"]
        assert await stream.next() == chunk
        assert events == ["pause"]  # still well above the low mark
        for _ in range(4):
            await stream.next()
        assert events == ["pause", "resume"]
        stream.put(b"last")
        stream.end()
        assert await stream.next() == b"last"
        assert await stream.next() is None

    asyncio.run(scenario())


def test_a_chunk_stream_cut_by_its_producer_or_left_by_its_client() -> None:
    async def scenario() -> None:
        cut = ChunkStream()
        cut.put(b"sent")
        cut.fail("the generator raised")
        assert await cut.next() == b"sent"  # what came before the cut still goes out
        with pytest.raises(StreamBroken, match="generator raised"):
            await cut.next()

        stops: list[str] = []
        ended: list[str] = []
        left = ChunkStream(on_cancel=lambda: stops.append("stop"))
        left.when_ended(lambda: ended.append("ended"))
        left.put(b"unsent")
        left.cancel()
        left.cancel()
        assert stops == ["stop"]  # the producer is asked once
        left.put(b"late")  # dropped
        left.end()
        assert ended == ["ended"] and await left.next() is None

    asyncio.run(scenario())


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_a_worker_streaming_when_its_server_dies_stops_quietly(start_server: StartServer) -> None:
    server = start_server("score_stream.py").wait_ready()
    exchange = Exchange(server.port, "/score?mode=ok&n=0&pause=0.01")  # endless
    try:
        exchange.read_until(b"chunk 1\n")
        server.process.kill()  # the HTTP process, not its worker
        server.process.wait()
        worker = server.worker_pids()[0]
        server.wait_for_log("generator closed after chunk")  # it stopped producing
        deadline = time.monotonic() + WAIT_S
        while _running(worker):
            assert time.monotonic() < deadline, "the worker outlived its server"
            time.sleep(0.05)
    finally:
        exchange.close()
    assert "Traceback" not in server.stderr, server.stderr
