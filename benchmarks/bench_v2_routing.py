"""The routing overhead of an online endpoint: its ``scoringUri`` against its replica directly.

Starts the emulator's HTTPS server in this process on a fresh root (as ``amlemu up`` would),
creates an endpoint and one deployment (the host builder: the replica runs on this interpreter)
through the real ``azure-ai-ml``, then measures sequential keep-alive POSTs of the same body from
a process of its own (so the client does not share a GIL with the server) to:

- ``replica``: the replica's scoring server (``http://127.0.0.1:<port>/score``), no front;
- ``gateway``: the deployment's gateway in front of it (admission gate, timeout), plain HTTP;
- ``scoring_uri``: the endpoint's ``scoringUri`` (HTTPS with the emulator's CA, the endpoint's key:
  auth, routing by traffic, request settings, handing the request to the gateway).

The three are measured side by side: one client process per round holds a kept-alive
connection to each and posts to them in turn (the order rotating), so a shared machine's load
drifts alike for all three. The overhead is the difference of the p50 latencies (goal: at most
1 ms for ``scoring_uri`` over ``replica``), and its spread is that of the differences between
requests of the same cycle. The SDK's own ``online_endpoints.invoke()`` is timed too (each call
also GETs the endpoint and its keys; reported, not bounded). Prints JSON.

    python benchmarks/bench_v2_routing.py [--requests 2000] [--rounds 5] [--invokes 20]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import platform
import socket
import ssl
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SUB = "11111111-2222-3333-4444-555555555555"
SCORE = """
import json

def init():
    pass

def run(raw):
    return {"sum": sum(json.loads(raw)["data"])}
"""
BODY = json.dumps({"data": [1, 2, 3]}).encode()


@contextlib.contextmanager
def _server(root: Path) -> Iterator[Any]:
    """The emulator's server on ``root`` and ``amlemu env``'s variables for it."""
    from emulator.daemon.client_env import client_environment
    from emulator.daemon.server import EmulatorServer
    from emulator.store.root import EmulatorRoot

    os.environ["AZUREML_EMULATOR_ROOT"] = str(root)
    os.environ["AZUREML_EMULATOR_BUILDER"] = "host"
    with EmulatorServer(EmulatorRoot(root)) as server:
        variables = client_environment(
            server.ca, server.base_url, server.identity_secret, os.environ
        )
        os.environ.update(variables)
        yield server


def _post_loop(
    targets: list[dict[str, Any]],
    count: int,
    queue: multiprocessing.Queue[Any],
) -> None:
    """In the client process: ``count`` cycles of one keep-alive POST to each target, the
    targets' order rotating from cycle to cycle, so every target sees the same moments of a
    shared machine's load. Each latency in seconds per target, and how many answers closed the
    connection (the next request then connects again, as any client does)."""
    conns = {target["name"]: _connect(target) for target in targets}
    latencies: dict[str, list[float]] = {target["name"]: [] for target in targets}
    closed = dict.fromkeys(latencies, 0)
    for i in range(count + 50):  # the first 50: warm-up (connection, TLS handshake, caches)
        shift = i % len(targets)
        for target in targets[shift:] + targets[:shift]:
            name = target["name"]
            headers = {"Content-Type": "application/json", **target["headers"]}
            started = time.perf_counter()
            conns[name].request("POST", target["path"], BODY, headers)
            answer = conns[name].getresponse()
            data = answer.read()
            elapsed = time.perf_counter() - started
            if answer.status != 200 or b"sum" not in data:
                queue.put(RuntimeError(f"{name}: {answer.status} {data[:200]!r}"))
                return
            if i >= 50:
                latencies[name].append(elapsed)
                closed[name] += answer.getheader("Connection", "").lower() == "close"
    for conn in conns.values():
        conn.close()
    queue.put((latencies, closed))


def _connect(target: dict[str, Any]) -> http.client.HTTPConnection:
    if target["tls"]:
        context = ssl.create_default_context(cafile=target["ca"])
        return _NoDelayHttps("127.0.0.1", target["port"], context=context)
    return _NoDelayHttp("127.0.0.1", target["port"])


class _NoDelayHttp(http.client.HTTPConnection):
    """``TCP_NODELAY`` on every connection, as urllib3 (the SDK's transport) sets it: http.client
    writes head and body apart, which Nagle's algorithm would delay."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _NoDelayHttps(http.client.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _measure(
    targets: list[dict[str, Any]], count: int
) -> tuple[dict[str, list[float]], dict[str, int]]:
    """One round: ``count`` cycles over ``targets`` from a fresh client process."""
    queue: multiprocessing.Queue[Any] = multiprocessing.Queue()
    worker = multiprocessing.Process(target=_post_loop, args=(targets, count, queue))
    worker.start()
    result = queue.get()
    worker.join()
    if isinstance(result, Exception):
        raise result
    latencies, closed = result
    return dict(latencies), dict(closed)


def _ms(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 3)


def _spread(values: list[float], baseline: list[float]) -> dict[str, float]:
    differences = [value - base for value, base in zip(values, baseline, strict=True)]
    return {
        "p10": _ms(differences, 0.1),
        "p50": _ms(differences, 0.5),
        "p90": _ms(differences, 0.9),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per target, in all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--invokes", type=int, default=20)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="amlemu-bench-routing-"))
    (workdir / "model.txt").write_text("weights")
    (workdir / "src").mkdir()
    (workdir / "src" / "score.py").write_text(SCORE)
    (workdir / "request.json").write_bytes(BODY)
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "MSI_ENDPOINT"):
        os.environ.pop(name, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # marshmallow's warnings about the client's own schemas
        from azure.ai.ml import MLClient
        from azure.ai.ml.entities import (
            CodeConfiguration,
            Environment,
            ManagedOnlineDeployment,
            ManagedOnlineEndpoint,
            Model,
            OnlineRequestSettings,
        )
    from azure.identity import DefaultAzureCredential

    from emulator.services.hosting import HOST
    from emulator.services.online import host_key

    # azure-ai-ml prints progress on stdout: kept off the JSON document.
    with _server(workdir / "root") as server, contextlib.redirect_stdout(sys.stderr):
        client = MLClient(DefaultAzureCredential(), SUB, "rg", "ws")
        client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="bench")).result()
        client.online_deployments.begin_create_or_update(
            ManagedOnlineDeployment(
                name="blue",
                endpoint_name="bench",
                model=Model(path=str(workdir / "model.txt")),
                code_configuration=CodeConfiguration(
                    code=str(workdir / "src"), scoring_script="score.py"
                ),
                environment=Environment(
                    image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"
                ),
                instance_type="Standard_DS3_v2",
                instance_count=1,
                request_settings=OnlineRequestSettings(max_concurrent_requests_per_instance=4),
            )
        ).result()
        endpoint = client.online_endpoints.get("bench")
        endpoint.traffic = {"blue": 100}
        client.online_endpoints.begin_create_or_update(endpoint).result()
        uri = urlparse(client.online_endpoints.get("bench").scoring_uri)
        key = client.online_endpoints.get_keys("bench").primary_key

        live = next(d for d in HOST.deployments() if d.name == host_key("bench", "blue"))
        targets = [
            {
                "name": "replica",
                "tls": False,
                "port": live.replicas()[0].port,
                "path": "/score",
                "headers": {},
            },
            {
                "name": "gateway",
                "tls": False,
                "port": live.gateway.port,
                "path": "/score",
                "headers": {},
            },
            {
                "name": "scoring_uri",
                "tls": True,
                "port": uri.port,
                "path": uri.path,
                "ca": str(server.ca.ca_cert),
                "headers": {"Authorization": f"Bearer {key}"},
            },
        ]
        latencies: dict[str, list[float]] = {t["name"]: [] for t in targets}
        closed = dict.fromkeys(latencies, 0)
        per_round = max(1, args.requests // args.rounds)
        for _ in range(args.rounds):
            measured, reconnects = _measure(targets, per_round)
            for name in latencies:
                latencies[name] += measured[name]
                closed[name] += reconnects[name]

        invokes = []
        for _ in range(args.invokes):
            started = time.perf_counter()
            client.online_endpoints.invoke(
                endpoint_name="bench", request_file=str(workdir / "request.json")
            )
            invokes.append(time.perf_counter() - started)
        client.online_endpoints.begin_delete(name="bench").result()

    p50 = {name: _ms(values, 0.5) for name, values in latencies.items()}
    print(
        json.dumps(
            {
                "benchmark": "v2 online endpoint routing overhead (keep-alive POSTs, sequential)",
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "requests_per_target": per_round * args.rounds,
                "rounds": args.rounds,
                "latency_ms": {
                    name: {
                        "p10": _ms(values, 0.1),
                        "p50": p50[name],
                        "p90": _ms(values, 0.9),
                        "p99": _ms(values, 0.99),
                    }
                    for name, values in latencies.items()
                },
                "overhead_p50_ms": {
                    "scoring_uri_vs_replica": round(p50["scoring_uri"] - p50["replica"], 3),
                    "scoring_uri_vs_gateway": round(p50["scoring_uri"] - p50["gateway"], 3),
                    "gateway_vs_replica": round(p50["gateway"] - p50["replica"], 3),
                },
                # p10 moves less with the load of a shared machine than p50 does.
                "overhead_p10_ms": {
                    "scoring_uri_vs_replica": round(
                        _ms(latencies["scoring_uri"], 0.1) - _ms(latencies["replica"], 0.1), 3
                    ),
                },
                # The same cycle's requests (moments apart) compared pairwise: the spread of
                # the overhead itself, with the machine's drift between cycles taken out.
                "overhead_paired_ms": {
                    "scoring_uri_vs_replica": _spread(
                        latencies["scoring_uri"], latencies["replica"]
                    ),
                    "gateway_vs_replica": _spread(latencies["gateway"], latencies["replica"]),
                },
                "goal_overhead_p50_ms": 1.0,
                # Answers with "Connection: close": the client connects again (a TLS handshake
                # on the scoring URI) for the next request. 0 everywhere since the ARM face's
                # server keeps connections alive (werkzeug's, before, closed every one).
                "answers_closing_the_connection": closed,
                "sdk_invoke_ms": {
                    "calls": args.invokes,
                    "median": round(statistics.median(invokes) * 1000, 3),
                    "max": round(max(invokes) * 1000, 3),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
