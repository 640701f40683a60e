"""``amlemu up`` / ``down`` / ``status``: the emulator as a long-running local service.

``up`` serves the ARM face for SDK v2 (``azure-ai-ml``) on loopback HTTPS until Ctrl-C or
SIGTERM (``--detach``: in the background, until ``amlemu down``); ``status`` says whether one runs
for the root, where, and the states of the root's online deployments. Exit codes: ``status``
answers 0 when a daemon runs and 3 when none does (as ``systemctl status``), so scripts can test
it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from emulator.daemon import DaemonError
from emulator.daemon.files import DaemonFiles, DaemonInfo
from emulator.daemon.lifecycle import serve, start_detached, stop
from emulator.daemon.restore import root_deployments
from emulator.daemon.v1_services import daemon_services
from emulator.store.root import EmulatorRoot

NOT_RUNNING = 3


def add_parser(commands: Any) -> None:
    up = commands.add_parser(
        "up", help="start the emulator as a local service for SDK v2 (azure-ai-ml)"
    )
    up.add_argument(
        "--port",
        type=_port,
        help="port on 127.0.0.1 (default: the last one used when free, else any free port)",
    )
    up.add_argument(
        "--detach", action="store_true", help="run in the background until `amlemu down`"
    )
    up.add_argument(
        "--strict-auth",
        action="store_true",
        help="accept only bearer tokens the emulator's identity endpoint issued (default: any "
        "well-formed bearer token)",
    )
    up.set_defaults(handler=_guard(_up))
    down = commands.add_parser("down", help="stop the emulator service and what it hosts")
    down.set_defaults(handler=_guard(_down))
    status = commands.add_parser("status", help="say whether the emulator service runs")
    status.set_defaults(handler=_guard(_status))


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {value!r}: give a number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"invalid port {port}: give one in 1-65535, or 0 for any free port"
        )
    return port


def _guard(command: Any) -> Any:
    """Report a :class:`DaemonError` as ``amlemu: error: ...`` (exit 1), as other commands do."""

    def run(args: argparse.Namespace) -> int:
        try:
            return int(command(args))
        except DaemonError as exc:
            print(f"amlemu: error: {exc}", file=sys.stderr)
            return 1

    return run


def _up(args: argparse.Namespace) -> int:
    root = EmulatorRoot.current()
    _report_stale(DaemonFiles.for_root(root.path), root)
    if args.detach:
        info = start_detached(root, args.port, args.strict_auth)
        print(
            f"Emulator running in the background (pid {info.pid}) at {info.base_url} for "
            f'{root.path}.\nPoint azure-ai-ml at it with: eval "$(amlemu env)"\n'
            "Stop it with: amlemu down"
        )
        return 0
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    def announce(info: DaemonInfo) -> None:
        print(
            f"Emulator serving at {info.base_url} (pid {info.pid}) for {root.path}.\n"
            'In another shell: eval "$(amlemu env)"   Stop with Ctrl-C or `amlemu down`.',
            flush=True,
        )

    return serve(root, args.port, announce, args.strict_auth)


def _down(args: argparse.Namespace) -> int:
    root = EmulatorRoot.current()
    info = stop(root)
    if info is None:
        print(f"No emulator daemon runs for {root.path}.")
    else:
        print(f"Stopped the emulator daemon (pid {info.pid}) of {root.path}.")
    return 0


def _status(args: argparse.Namespace) -> int:
    root = EmulatorRoot.current()
    files = DaemonFiles.for_root(root.path)
    _report_stale(files, root)
    info = files.running()
    if info is None:
        print(f"No emulator daemon runs for {root.path}. Start one with `amlemu up`.")
        return NOT_RUNNING
    print(f"Emulator daemon running: pid {info.pid}, {info.base_url}, root {root.path}.")
    deployments = root_deployments(root)
    if deployments:
        print("Online deployments (workspace/endpoint/deployment: provisioning state):")
        for workspace, record in deployments:
            print(f"  {workspace.record.name}/{record.endpoint}/{record.name}: {record.state}")
    services = daemon_services(root, info.pid)
    if services:
        print("SDK v1 services (workspace/service: state, scoring URI):")
        for workspace, service in services:
            print(
                f"  {workspace.record.name}/{service.name}: {service.state}, {service.scoring_uri}"
            )
    return 0


def _report_stale(files: DaemonFiles, root: EmulatorRoot) -> None:
    """Say so when the root's last daemon ended without withdrawing its pid file (killed, e.g.
    by SIGKILL, or crashed); the file is removed on the way."""
    stale = files.stale_pid()
    if stale is not None:
        files.running()  # removes it
        print(
            f"Removed a stale pid file: the daemon (pid {stale}) of {root.path} is gone; it "
            "ended without stopping (killed or crashed). Its replicas were stopped by their "
            "watchdog; `amlemu up` brings its deployments back."
        )
