"""``run_server``: bind, print azmlinfsrv's banner, boot the workers, serve until told to stop.

The port is bound on 127.0.0.1 before any worker starts (requests made during ``init()`` wait,
as with gunicorn); port 0 picks a free one, and the ``Listening at: http://127.0.0.1:PORT`` line
says which. SIGTERM/SIGINT stop the server (exit 0); a worker that cannot boot stops it with
exit code 3, like azmlinfsrv.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import Mapping, Sequence

from emulator._version import __version__
from emulator.server.config import (
    APP_INSIGHTS_ENABLED,
    HOST,
    TELEMETRY_FILE,
    ConfigError,
    ServerConfig,
)
from emulator.server.logs import configure_logging, master_log, print_banner, server_log
from emulator.server.protocol import HttpProtocol
from emulator.server.routes import ScoringApp
from emulator.server.telemetry import default_file
from emulator.server.triton import REPOSITORY_ENV as TRITON_REPOSITORY
from emulator.server.workers import WorkerPool

BOOT_FAILED = 3
_BACKLOG = 2048


def run_server(environ: Mapping[str, str] | None = None, notices: Sequence[str] = ()) -> int:
    """Serve the entry script named in ``environ`` (default: this process's environment).

    ``notices`` are printed before the banner (the command line's settings check).
    """
    env = dict(os.environ if environ is None else environ)
    if env.get(TRITON_REPOSITORY):  # a Triton image's replica (numpy, onnxruntime: imported here)
        from emulator.server.triton.replica import serve_repository

        return serve_repository(env)
    if env.get(APP_INSIGHTS_ENABLED) == "true" and not env.get(TELEMETRY_FILE):
        env[TELEMETRY_FILE] = default_file()  # standalone: one file per start
    configure_logging()
    try:
        config = ServerConfig.from_env(env)
    except ConfigError as exc:
        server_log.critical(str(exc))
        return BOOT_FAILED
    return asyncio.run(_serve(config, env, notices))


def bind(port: int) -> socket.socket:
    """A listening loopback socket (port 0: any free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
        sock.listen(_BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


async def _serve(config: ServerConfig, env: dict[str, str], notices: Sequence[str]) -> int:
    loop = asyncio.get_running_loop()
    sockets = [bind(config.port)]
    if config.health_port is not None:
        sockets.append(bind(config.health_port))
    ports = [sock.getsockname()[1] for sock in sockets]
    print_banner(config, ports[0], ports[-1], env, notices)
    master_log.info(f"Starting azureml-emulator scoring server {__version__}")
    for port in ports:
        master_log.info(f"Listening at: http://{HOST}:{port} ({os.getpid()})")
    master_log.info("Using worker: sync")

    stopped = asyncio.Event()
    exit_code = 0

    def boot_failed() -> None:
        nonlocal exit_code
        exit_code = BOOT_FAILED
        stopped.set()

    def on_signal(signum: signal.Signals) -> None:
        master_log.info(f"Handling signal: {signum.name[3:].lower()}")
        stopped.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    pool = WorkerPool(config.worker_count, env, config.scoring_timeout_ms, boot_failed)
    app = ScoringApp(config, pool)
    connections: set[HttpProtocol] = set()
    servers = [
        await loop.create_server(lambda: HttpProtocol(app, connections), sock=sock)
        for sock in sockets
    ]
    pool.start()
    await stopped.wait()
    for server in servers:
        server.close()
    for connection in list(connections):
        connection.close()
    await pool.close()
    if exit_code == 0:
        master_log.info("Shutting down: Master")
    else:
        master_log.error("Shutting down: Master")
        master_log.error("Reason: Worker failed to boot.")
    return exit_code
