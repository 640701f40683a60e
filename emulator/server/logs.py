"""Log lines in the container's format, so code that reads a deployment's logs works unchanged.

Format ``2026-11-24 05:51:06,056 I [6471] azmlinfsrv - message`` (UTC). The ``azmlinfsrv*`` and
``gunicorn.access`` loggers write to stdout, ``gunicorn.error`` to stderr, as in the container;
the emulator's HTTP process plays gunicorn's master (boot, worker exits, access lines) and keeps
its logger names for that. ``print()`` in user code becomes an ``azmlinfsrv.print`` line.
"""

from __future__ import annotations

import builtins
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

from emulator.server.config import APP_INSIGHTS_ENABLED, APP_INSIGHTS_KEY, ServerConfig
from emulator.server.version import INFSRV_VERSION

FORMAT = "%(asctime)s %(levelname).1s [%(process)d] %(name)s - %(message)s"

server_log = logging.getLogger("azmlinfsrv")
master_log = logging.getLogger("gunicorn.error")
access_log = logging.getLogger("gunicorn.access")
print_log = logging.getLogger("azmlinfsrv.print")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class _UtcFormatter(logging.Formatter):
    def __init__(self, fmt: str) -> None:
        super().__init__(fmt)
        self.converter = time.gmtime


def configure_logging() -> None:
    """Attach the container's handlers, and Python's basic stderr handler to the root logger.

    In azmlinfsrv's workers the root logger already has that handler when the user's script
    runs (a module-level logging call during start-up installs it): a user's logger writes
    ``WARNING:userlog:text`` to stderr, INFO stays dropped (measured:
    ``infsrv-appinsights-*.txt``, ``infsrv-request-log-lines.txt``).
    """
    logging.basicConfig()
    formatter = _UtcFormatter(FORMAT)
    stdout = logging.StreamHandler(sys.stdout)
    stderr = logging.StreamHandler(sys.stderr)
    for handler in (stdout, stderr):
        handler.setFormatter(formatter)
    for logger, handler in ((server_log, stdout), (access_log, stdout), (master_log, stderr)):
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False


def redirect_print() -> None:
    """Send ``print()`` to stdout through ``azmlinfsrv.print``; other files print as usual."""
    original = builtins.print

    def print_to_log(
        *objects: Any, sep: str | None = " ", end: str | None = "\n", **kw: Any
    ) -> None:
        target = kw.get("file") or sys.stdout
        if target is sys.stdout:
            print_log.info((" " if sep is None else sep).join(map(str, objects)))
        else:
            original(*objects, sep=sep, end=end, **kw)

    builtins.print = print_to_log


def access_line(
    client: str, request_line: str, status: int, size: int, referer: str, agent: str
) -> str:
    """gunicorn's access-log line (``%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s ...``)."""
    now = time.gmtime()
    stamp = (
        f"{now.tm_mday:02d}/{_MONTHS[now.tm_mon - 1]}/{now.tm_year}:"
        f"{now.tm_hour:02d}:{now.tm_min:02d}:{now.tm_sec:02d} +0000"
    )
    return f'{client} - - [{stamp}] "{request_line}" {status} {size} "{referer}" "{agent}"'


def tree_lines(path: str, depth: int = 0) -> Iterator[str]:
    """A folder as indented lines (dirs end in ``/``), as logged when ``init()`` fails."""
    path = os.path.normpath(path)
    name = os.path.basename(path.rstrip(os.sep))
    indent = "    " * depth
    if os.path.isdir(path):
        yield f"{indent}{name}{os.sep}"
        for child in sorted(os.listdir(path)):
            yield from tree_lines(os.path.join(path, child), depth + 1)
    else:
        yield f"{indent}{name}"


def print_banner(
    config: ServerConfig,
    port: int,
    health_port: int,
    environ: dict[str, str],
    notices: Sequence[str] = (),
) -> None:
    """The settings block azmlinfsrv prints before it starts serving (ports as bound).

    ``notices`` are the lines its settings check printed (Application Insights); the key itself
    is never printed, only whether one was given.
    """
    from emulator._version import __version__

    def env(key: str) -> str:
        return str(environ.get(key))

    cors = config.cors_setting
    key = "AppInsights key provided" if APP_INSIGHTS_KEY in environ else None
    lines = []
    if config.model_dir is None:
        lines += [
            "The environment variable 'AZUREML_MODEL_DIR' has not been set.",
            "Use the --model_dir command line argument to set it.",
        ]
    lines += [
        *notices,
        "",
        f"Azure ML Inferencing HTTP server v{INFSRV_VERSION} (azureml-emulator {__version__})",
        "",
        "",
        "Server Settings",
        "---------------",
        f"Entry Script Name: {config.entry_script}",
        f"Model Directory: {config.model_dir}",
        f"Config File: {config.config_file}",
        f"Worker Count: {config.worker_count}",
        f"Worker Timeout (seconds): {config.worker_timeout}",
        f"Server Port: {port}",
        f"Health Port: {health_port}",
        f"Application Insights Enabled: {environ.get(APP_INSIGHTS_ENABLED, 'false')}",
        f"Application Insights Key: {key}",
        f"Inferencing HTTP server version: {config.server_version}",
        f"CORS for the specified origins: {f'Enabling CORS for {cors}' if cors else None}",
        f"Create dedicated endpoint for health: {env('SEPERATE_HEALTH_ENDPOINT')}",
        "",
        "",
        "Server Routes",
        "---------------",
        f"Liveness Probe: GET   127.0.0.1:{health_port}/",
        f"Score:          POST  127.0.0.1:{port}/score",
        "",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
