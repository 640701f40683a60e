"""``python -m emulator.accel NAME=MODEL.onnx [...] [--token T]``: a standalone gRPC endpoint.

Serves each ONNX model under its service name on 127.0.0.1 (a free port unless ``--port``),
prints ``Listening at: 127.0.0.1:<port>`` and runs until interrupted or terminated. Used by the
benchmarks to keep the server out of the client's process, and handy for trying a client.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from emulator.accel.routing import token_auth
from emulator.accel.serving import PredictionServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator.accel", description=__doc__)
    parser.add_argument("models", nargs="+", metavar="NAME=MODEL.onnx")
    parser.add_argument("--token", action="append", default=[], help="accepted bearer token")
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime intra-op threads")
    args = parser.parse_args(argv)
    from emulator.accel.session import OnnxModel

    server = PredictionServer()
    check = token_auth(args.token) if args.token else None
    for spec in args.models:
        name, sep, path = spec.partition("=")
        if not sep:
            parser.error(f"expected NAME=MODEL.onnx, got {spec!r}")
        server.add_service(name, OnnxModel.load(path, threads=args.threads), check)
    port = server.start()
    print(f"Listening at: 127.0.0.1:{port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.stop(grace=1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
