"""Load: N concurrent clients posting to a scoring URI for S seconds, in their own process.

Each client is a coroutine with a keep-alive connection (the gateway's own asyncio/httptools
client), sending one request after another. A request *counts* once it has a final status;
with ``--retries`` a failed attempt (no answer, or a 5xx) is retried with back-off, as a real
client would during faults, and a request is *lost* only when no attempt got a status. Prints
one JSON object: requests, statuses, attempts, lost, throughput and latency percentiles.

Run in its own process (``python -m reliability.load``) so that the clients do not compete for
the interpreter lock with the gateway under test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from emulator.services.client import ReplicaClient, ReplicaClosed
from emulator.validation.resources import percentile
from reliability.world import PAYLOAD

ERROR = "error"  # an attempt that got no status (refused, dropped, timed out)


async def run_load(
    url: str, key: str, clients: int, seconds: float, retries: int, timeout: float
) -> dict[str, Any]:
    parts = urlsplit(url)
    client = ReplicaClient(parts.hostname or "127.0.0.1", parts.port or 80)
    headers = [("Content-Type", "application/json"), ("Authorization", f"Bearer {key}")]
    statuses: Counter[str] = Counter()
    attempts: Counter[str] = Counter()
    latencies: list[float] = []
    lost = 0
    deadline = time.monotonic() + seconds

    async def one_client() -> None:
        nonlocal lost
        while time.monotonic() < deadline:
            started = time.perf_counter()
            outcome = ERROR
            for attempt in range(retries + 1):
                try:
                    answer = await client.request("POST", parts.path, headers, PAYLOAD, timeout)
                    outcome = str(answer.status)
                except (ReplicaClosed, asyncio.TimeoutError, OSError):
                    outcome = ERROR
                attempts[outcome] += 1
                if outcome != ERROR and not outcome.startswith("5"):
                    break
                if attempt < retries:
                    await asyncio.sleep(min(1.0, 0.05 * 2**attempt))
            latencies.append(time.perf_counter() - started)
            statuses[outcome] += 1
            lost += outcome == ERROR

    started = time.monotonic()
    await asyncio.gather(*(one_client() for _ in range(clients)))
    elapsed = time.monotonic() - started
    client.close()
    requests = sum(statuses.values())
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": requests,
        "statuses": dict(sorted(statuses.items())),
        "attempts": dict(sorted(attempts.items())),
        "lost": lost,
        "throughput_rps": round(requests / elapsed, 1) if elapsed else 0.0,
        "latency_ms": {
            name: round((percentile(latencies, share) or 0.0) * 1000, 2)
            for name, share in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability.load")
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--retries", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    result = asyncio.run(
        run_load(args.url, args.key, args.clients, args.seconds, args.retries, args.timeout)
    )
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
