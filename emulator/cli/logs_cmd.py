"""``amlemu logs SERVICE``: a replica's log (the scoring server's and your script's output).

The log files are written by the process that deployed the service, so they can be read — and
followed, like ``tail -f`` — from any other process. ``--init`` keeps only each run's start-up,
up to the moment the server is ready: where ``init()`` failures show. Azure's init container
(which downloads the models) has no counterpart here: models are laid out when the image is
built. ``--telemetry`` shows the replica's Application Insights items instead (JSON lines:
requests, exceptions, ``print()`` output), recorded when the service runs with Application
Insights enabled; nothing is sent to Azure.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from emulator.cli.workspace_arg import add_workspace_options, select_workspace
from emulator.errors import WebserviceException
from emulator.runtime.messages import RUN_SEPARATOR
from emulator.sdk.webservice.base import services
from emulator.server.telemetry import telemetry_path
from emulator.views import resources
from emulator.views.replicas import pick, service_replicas

#: The worker's line once ``init()`` returned (azmlinfsrv's text).
READY_LINE = "ready for serving traffic"
_POLL_SECONDS = 0.1
_CHECK_SERVICE_SECONDS = 0.5


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("logs", help="a service replica's log")
    add_workspace_options(parser)
    parser.add_argument("service", help="the service's name")
    parser.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="keep printing new lines until Ctrl-C or the service is deleted",
    )
    parser.add_argument(
        "--replica",
        type=int,
        metavar="N",
        help="replica number, as `amlemu describe service` lists them (default: the first "
        "running one)",
    )
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument(
        "--init",
        action="store_true",
        help="only each run's start-up, until init() returned (where init() failures show)",
    )
    shown.add_argument(
        "--telemetry",
        action="store_true",
        help="the Application Insights items the replica recorded instead of sending them "
        "(JSON lines; needs enable_app_insights=True)",
    )
    parser.add_argument(
        "--tail", type=_count, metavar="N", help="only the last N lines (then follow, with -f)"
    )
    parser.set_defaults(handler=show_logs)


def show_logs(args: argparse.Namespace) -> int:
    ws = select_workspace(args)
    record = resources.find_service(ws, args.service).emulator_record
    replica = pick(service_replicas(ws.emulator_state.root.path, record), args.replica, record.name)
    keep = StartupFilter() if args.init else None
    path = replica.log_path
    if args.telemetry and path is not None:
        path = telemetry_path(path)
        if not path.exists() and not record.settings.get("appInsightsEnabled"):
            raise WebserviceException(
                f"Service {record.name} has recorded no Application Insights telemetry: it is "
                "recorded when Application Insights is enabled (deploy_configuration("
                "enable_app_insights=True), or service.update(enable_app_insights=True)) and "
                "the service is then called."
            )
    text = path.read_bytes() if path is not None and path.exists() else b""
    complete = text[: text.rfind(b"\n") + 1] if args.follow else text
    lines = _kept(complete.decode("utf-8", "replace").splitlines(keepends=True), keep)
    if args.tail is not None:
        lines = lines[-args.tail :] if args.tail else []
    sys.stdout.writelines(lines)
    sys.stdout.flush()
    if args.follow and path is not None:
        registry = services(ws).registry

        def alive() -> bool:  # not deleted, nor replaced by a new deployment of the name
            current = registry.get(record.name)
            return current is not None and current.id == record.id

        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how following ends
            _follow(path, len(complete), keep, alive)
    return 0


class StartupFilter:
    """Keeps the lines of each run from its start until the server says it is ready."""

    def __init__(self) -> None:
        self.starting = True

    def __call__(self, line: str) -> bool:
        if RUN_SEPARATOR in line:
            self.starting = True
            return True
        keep = self.starting
        if READY_LINE in line:
            self.starting = False
        return keep


def _follow(path: Path, offset: int, keep: StartupFilter | None, alive: Callable[[], bool]) -> None:
    """Print complete lines appended after ``offset`` until ``alive()`` turns false."""
    checked = time.monotonic()
    pending = b""
    while True:
        try:
            with open(path, "rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
        except FileNotFoundError:  # telemetry: nothing recorded yet
            chunk = b""
        offset += len(chunk)
        pending += chunk
        cut = pending.rfind(b"\n") + 1
        if cut:
            lines = pending[:cut].decode("utf-8", "replace").splitlines(keepends=True)
            sys.stdout.writelines(_kept(lines, keep))
            sys.stdout.flush()
            pending = pending[cut:]
        if time.monotonic() - checked >= _CHECK_SERVICE_SECONDS:
            checked = time.monotonic()
            if not alive():
                sys.stdout.writelines(_kept([pending.decode("utf-8", "replace")], keep))
                return
        time.sleep(_POLL_SECONDS)


def _kept(lines: Iterable[str], keep: StartupFilter | None) -> list[str]:
    return list(lines) if keep is None else [line for line in lines if keep(line)]


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of lines (0 or more)")
    return value
