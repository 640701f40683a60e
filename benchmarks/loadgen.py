"""The benchmarks' load generator: keep ``concurrency`` keep-alive connections busy for
``seconds`` from a process of its own (so it does not share a GIL with what it measures),
after one second of warm-up, and report requests/s and p50/p99 latency.

A server that closes the connection after each answer (gunicorn's sync worker) is followed by
reconnecting, as a real client would.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import re
import time

from emulator.validation.resources import percentile

_LENGTH = re.compile(rb"(?i)content-length: *(\d+)")
_CLOSE = re.compile(rb"(?i)connection: *close")


def measure(
    port: int,
    concurrency: int,
    seconds: float,
    body: bytes,
    path: str = "/score",
    headers: dict[str, str] | None = None,
) -> dict[str, float]:
    """POST ``body`` to ``127.0.0.1:port{path}``; the numbers for the measured period."""
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{extra}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    worker = multiprocessing.Process(
        target=_load, args=(port, request, concurrency, seconds, queue)
    )
    worker.start()
    latencies, errors = queue.get()
    worker.join()

    def ms(share: float) -> float:
        return round((percentile(latencies, share) or 0.0) * 1000, 3)

    return {
        "requests": len(latencies),
        "errors": errors,
        "requests_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": ms(0.50),
        "p99_ms": ms(0.99),
    }


def _load(
    port: int,
    request: bytes,
    concurrency: int,
    seconds: float,
    out: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    async def main() -> tuple[list[float], int]:
        warm_until = time.perf_counter() + 1.0
        await asyncio.gather(
            *(_client(port, request, warm_until, [], []) for _ in range(concurrency))
        )
        latencies: list[float] = []
        errors: list[int] = []
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(
            *(_client(port, request, stop_at, latencies, errors) for _ in range(concurrency))
        )
        return latencies, len(errors)

    out.put(asyncio.run(main()))


async def _client(
    port: int, request: bytes, stop_at: float, latencies: list[float], errors: list[int]
) -> None:
    reader = writer = None
    while time.perf_counter() < stop_at:
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert reader is not None
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(_LENGTH.search(head).group(1))  # type: ignore[union-attr]
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        if not head.startswith(b"HTTP/1.1 200"):
            errors.append(1)
        if _CLOSE.search(head):
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()
