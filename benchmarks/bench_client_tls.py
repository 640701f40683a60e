"""What a client's new HTTPS connection to the emulator costs, by the form its trust takes.

``requests`` builds a new ``SSLContext`` per connection and loads ``REQUESTS_CA_BUNDLE`` into it;
``amlemu env`` points that variable at a hashed CA directory (:mod:`emulator.daemon.ca_directory`)
and ``SSL_CERT_FILE`` at the same certificates as one file. Against an in-process emulator server
(fresh root, free port) this prints JSON:

* ``trust``: how many certificates the trust holds and the file's size;
* ``load_verify_ms``: building one client context with that trust (median), file vs directory;
* ``new_connection``: one GET of the cloud metadata over a new connection (a fresh
  ``requests.Session``, as an ``azure-ai-ml`` operation group's first call), with
  ``verify=`` the file (as before) and the directory (as now): median and p90 wall ms, and the
  median CPU ms of the client thread;
* ``kept_alive``: the same GET on a connection kept open (one session), for scale.

    python benchmarks/bench_client_tls.py [--requests 50]
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

from emulator.daemon.client_env import client_environment
from emulator.daemon.server import EmulatorServer
from emulator.daemon.trust import certificates
from emulator.store.root import EmulatorRoot


def _samples(call: Callable[[], object], repeat: int) -> tuple[list[float], list[float]]:
    """Wall and client-thread CPU seconds of ``repeat`` calls (after one warm-up)."""
    call()
    wall, cpu = [], []
    for _ in range(repeat):
        started, used = time.perf_counter(), time.thread_time()
        call()
        cpu.append(time.thread_time() - used)
        wall.append(time.perf_counter() - started)
    return wall, cpu


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _summary(wall: list[float], cpu: list[float]) -> dict[str, float]:
    return {
        "median_ms": _ms(statistics.median(wall)),
        "p90_ms": _ms(statistics.quantiles(wall, n=10)[-1]),
        "client_cpu_median_ms": _ms(statistics.median(cpu)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50, help="samples per measurement")
    repeat = parser.parse_args().requests
    with tempfile.TemporaryDirectory() as scratch, EmulatorServer(EmulatorRoot(Path(scratch))) as s:
        variables = client_environment(s.ca, s.base_url, s.identity_secret, os.environ)
        url = variables["ARM_CLOUD_METADATA_URL"]
        forms = {"file": variables["SSL_CERT_FILE"], "directory": variables["REQUESTS_CA_BUNDLE"]}

        def context(trust: str) -> None:
            found = {"cafile": trust} if Path(trust).is_file() else {"capath": trust}
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(**found)

        def fresh(trust: str) -> None:
            with requests.Session() as session:
                session.get(url, verify=trust).raise_for_status()

        kept = requests.Session()
        report = {
            "python": sys.version.split()[0],
            "openssl": ssl.OPENSSL_VERSION,
            "requests": requests.__version__,
            "samples": repeat,
            "trust": {
                "certificates": len(certificates([Path(forms["file"])])),
                "file_bytes": Path(forms["file"]).stat().st_size,
            },
            "load_verify_ms": {
                form: _ms(statistics.median(_samples(lambda t=trust: context(t), repeat)[0]))
                for form, trust in forms.items()
            },
            "new_connection": {
                form: _summary(*_samples(lambda t=trust: fresh(t), repeat))
                for form, trust in forms.items()
            },
            "kept_alive": _summary(
                *_samples(
                    lambda: kept.get(url, verify=forms["directory"]).raise_for_status(), repeat
                )
            ),
            "load_average_1m": round(os.getloadavg()[0], 2),
        }
        kept.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
