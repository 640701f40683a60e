"""A bare grpcio server in its own process: one unary method that returns the request bytes.

``bench_accel.py`` times it with a request of the size of its Predict request: the cost of
Python gRPC alone on this machine, the floor under any Python gRPC service's latency.
Prints ``<port>`` once listening; runs until terminated.
"""

from __future__ import annotations

from concurrent import futures

import grpc

SERVICE, METHOD = "amlemu.bench.Echo", "Echo"


def main() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    echo = grpc.unary_unary_rpc_method_handler(lambda request, context: request)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE, {METHOD: echo}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
