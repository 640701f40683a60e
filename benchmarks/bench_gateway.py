"""The gateway's cost: requests/s and latency through it vs straight to the replica.

One replica, the project's scoring server serving ``fixtures/scoring/score_echo.py`` (one
worker), measured twice with ``--concurrency`` keep-alive connections for ``--seconds`` each:
directly, then through an AKS-mode :class:`emulator.services.Gateway` (key auth on,
``replica_max_concurrent_requests`` = concurrency so nothing is refused). The load generator
runs in its own process; the gateway runs in a thread of this one. Prints JSON.

    python benchmarks/bench_gateway.py [--concurrency 8] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from loadgen import measure

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from emulator.services import Gateway, Replica, ServiceAuth, ServiceSettings  # noqa: E402

SCRIPT = REPO / "fixtures" / "scoring" / "score_echo.py"
BODY = b'{"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}'
_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


def start_replica(log: Path) -> tuple[subprocess.Popen[bytes], int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZUREML_")}
    command = [sys.executable, "-m", "emulator.server", "--entry_script", str(SCRIPT)]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*command, "--port", "0"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO
        )
    deadline = time.monotonic() + 60
    while not (match := _LISTENING.search(log.read_text(errors="replace"))):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"replica did not start:\n{log.read_text()}")
        time.sleep(0.05)
    port = int(match.group(1))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60) as answer:
        assert answer.status == 200
    return process, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        process, port = start_replica(Path(tmp) / "replica.log")
        try:
            direct = measure(port, args.concurrency, args.seconds, BODY)
            auth = ServiceAuth("key")
            settings = ServiceSettings(
                replica_max_concurrent_requests=args.concurrency, max_request_wait_time=5000
            )
            with Gateway() as gateway:
                gateway.add_service("bench", lambda: [Replica(id="r0", port=port)], settings, auth)
                path = "/api/v1/service/bench/score"
                proxied = measure(
                    gateway.port,
                    args.concurrency,
                    args.seconds,
                    BODY,
                    path,
                    {"Authorization": f"Bearer {auth.primary_key}"},
                )
        finally:
            process.terminate()
            process.wait(30)
    print(
        json.dumps(
            {
                "concurrency": args.concurrency,
                "seconds": args.seconds,
                "cpus": os.cpu_count(),
                "direct": direct,
                "gateway": proxied,
                "throughput_ratio": round(proxied["requests_per_s"] / direct["requests_per_s"], 2),
                "p50_added_ms": round(proxied["p50_ms"] - direct["p50_ms"], 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
