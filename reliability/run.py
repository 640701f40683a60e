"""The runner: set up a world, run every scenario, print one JSON summary (exit 1 if any fails).

    python -m reliability                          # 64 clients, 60 s of load (the full run)
    python -m reliability --seconds 5 --clients 16 # the short run CI does (about 25 s)

Scenarios, in order: steady load on an AKS service with two replicas; the same load with a
replica killed (SIGKILL) and the gateway restarted on its port; a whole emulator process killed
and a new one redeploying from the persisted records; concurrent model registrations from
several processes, half of them killed; hypothesis fuzzing of the CLI's argument parsers and of
``/score`` through the gateway, until ``--fuzz-inputs`` distinct bad inputs (by content hash;
10,000 in the full run) were refused (a 4xx, a usage error). Everything runs in a temporary
emulator root.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reliability.world import MAX_BODY_BYTES, READ_TIMEOUT, configure, create_world

REPLICAS = 2
#: Distinct bad inputs the full (60 s) run fuzzes; shorter and longer runs in proportion.
FULL_RUN_FUZZ_INPUTS = 10_000
FULL_RUN_SECONDS = 60.0
MIN_FUZZ_INPUTS = 500


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m reliability", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--clients", type=int, default=64, help="concurrent clients (64)")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of steady load (60)")
    parser.add_argument(
        "--registrars", type=int, default=8, help="processes registering models (8; half killed)"
    )
    parser.add_argument(
        "--fuzz-inputs",
        type=int,
        help=f"distinct bad inputs fuzzed until refused, CLI and HTTP (default "
        f"{FULL_RUN_FUZZ_INPUTS:,} for {FULL_RUN_SECONDS:g} s of load, in proportion otherwise, "
        f"at least {MIN_FUZZ_INPUTS})",
    )
    parser.add_argument("--cli-examples", type=int, default=300, help="CLI fuzz cases (300)")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0 or args.registrars < 2:
        parser.error("--clients must be >= 1, --seconds > 0 and --registrars >= 2")
    if args.fuzz_inputs is None:
        scaled = FULL_RUN_FUZZ_INPUTS * args.seconds / FULL_RUN_SECONDS
        args.fuzz_inputs = max(MIN_FUZZ_INPUTS, round(scaled))
    if args.fuzz_inputs < 1 or args.cli_examples < 1:
        parser.error("--fuzz-inputs and --cli-examples must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    started = time.monotonic()
    # Standard output carries the JSON only: the SDK's progress lines go to standard error,
    # and the gateway's warnings about the replicas killed on purpose are counted, not logged.
    logging.getLogger("amlemu.gateway").setLevel(logging.ERROR)
    with (
        tempfile.TemporaryDirectory(prefix="amlemu-reliability-") as scratch,
        contextlib.redirect_stdout(sys.stderr),
    ):
        configure(Path(scratch) / "root")
        summary = run_all(Path(scratch), args)
    summary["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(summary, indent=2))
    return 0 if summary["ok"] else 1


def run_all(scratch: Path, args: argparse.Namespace) -> dict[str, Any]:
    from reliability.fuzz_cli import fuzz_cli
    from reliability.fuzz_http import fuzz_gateway
    from reliability.registry import registry_under_kills
    from reliability.scenarios import emulator_restart, faults_during_load, steady_load

    timings: dict[str, float] = {}
    results: dict[str, Any] = {}

    def timed(name: str, scenario: Callable[[], dict[str, Any]]) -> None:
        started = time.monotonic()
        results[name] = scenario()
        timings[name] = round(time.monotonic() - started, 1)

    concurrency = -(-args.clients // REPLICAS)
    started = time.monotonic()
    world = create_world(scratch / "work", REPLICAS, concurrency)
    timings["setup"] = round(time.monotonic() - started, 1)
    fault_seconds = max(3.0, args.seconds / 2)
    timed("load", lambda: steady_load(world, args.clients, args.seconds))
    timed("faults", lambda: faults_during_load(world, args.clients, fault_seconds))
    timed("restart", lambda: emulator_restart(world))
    timed("registry", lambda: registry_under_kills(scratch / "registry", args.registrars, 5))
    timed("cli_fuzz", lambda: fuzz_cli(args.cli_examples))
    http_inputs = max(1, args.fuzz_inputs - results["cli_fuzz"]["distinct_refused"])
    timed("fuzz", lambda: fuzz_gateway(world, http_inputs))
    world.service.delete()

    statuses: Counter[str] = Counter()
    for phase in ("load", "faults"):
        statuses.update(results[phase]["statuses"])
    survived = results["faults"]["survived"] + (
        ["emulator process restart"] if results["restart"]["ok"] else []
    )
    return {
        "config": {
            "clients": args.clients,
            "seconds": args.seconds,
            "replicas": REPLICAS,
            "max_body_bytes": MAX_BODY_BYTES,
            "read_timeout_s": READ_TIMEOUT,
            "fuzz_inputs": args.fuzz_inputs,
        },
        "requests": sum(statuses.values()),
        "statuses": dict(sorted(statuses.items())),
        "lost": results["load"]["lost"] + results["faults"]["lost"],
        "unexpected_5xx": results["load"]["unexpected_5xx"],
        "throughput_rps": results["load"]["throughput_rps"],
        "latency_ms": results["load"]["latency_ms"],
        "memory_mb": results["load"]["memory_mb"],
        "faults_survived": survived,
        "fuzz_cases": results["fuzz"]["cases"] + results["cli_fuzz"]["cases"],
        "fuzz_distinct_inputs": results["fuzz"]["distinct"] + results["cli_fuzz"]["distinct"],
        "fuzz_distinct_bad_inputs": (
            results["fuzz"]["distinct_refused"] + results["cli_fuzz"]["distinct_refused"]
        ),
        "crashes": results["fuzz"]["crashes"] + results["cli_fuzz"]["crashes"],
        "ok": all(result["ok"] for result in results.values()),
        "phase_seconds": timings,
        **results,
    }


if __name__ == "__main__":
    sys.exit(main())
