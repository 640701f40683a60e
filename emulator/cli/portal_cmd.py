"""``amlemu portal [--port N]``: the local portal, served on 127.0.0.1 until interrupted.

Services deployed through its deploy form live in this process (and stop with it: on Ctrl-C,
SIGTERM or SIGHUP the portal stops them, their records say why, and it exits 0 after Ctrl-C,
128 + the signal's number otherwise)."""

from __future__ import annotations

import argparse
from typing import Any

from emulator.cli.workspace_arg import add_workspace_options, select_workspace

HOST = "127.0.0.1"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "portal", help="serve the local portal (models, images, compute, deployments)"
    )
    add_workspace_options(parser)
    parser.add_argument(
        "--port",
        type=int,
        default=8765,
        help="port on 127.0.0.1 (default 8765; 0 picks a free one)",
    )
    parser.set_defaults(handler=portal)


def portal(args: argparse.Namespace) -> int:
    from werkzeug.serving import make_server

    from emulator.daemon.files import DaemonFiles
    from emulator.portal.app import PortalApp
    from emulator.portal.metrics import MetricsRecorder
    from emulator.services.termination import (
        HostTerminated,
        handle_termination,
        stop_hosted_services,
    )

    ws = select_workspace(args)
    recorder = MetricsRecorder(ws)
    daemon = DaemonFiles.for_root(ws.emulator_state.root.path)

    def arm_url() -> str | None:
        """Where `amlemu up` serves the root's SDK v2 endpoints, if it runs now."""
        info = daemon.running()
        return info.base_url if info is not None else None

    # werkzeug itself explains a port in use (and exits 1).
    server = make_server(HOST, args.port, PortalApp(ws, recorder, arm_url), threaded=True)
    recorder.start()
    print(f"amlemu portal for workspace {ws.name}: http://{HOST}:{server.server_port}/", flush=True)
    interrupt: KeyboardInterrupt | None = None
    try:
        with handle_termination() as termination:
            server.serve_forever()  # werkzeug's returns on KeyboardInterrupt
    except KeyboardInterrupt as exc:
        interrupt = exc
    finally:
        recorder.stop()
        server.server_close()
    interrupt = termination.received or interrupt
    if interrupt is not None:
        stop_hosted_services(interrupt)
    return interrupt.exit_code if isinstance(interrupt, HostTerminated) else 0
