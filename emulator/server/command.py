"""azmlinfsrv's command line: ``amlemu serve`` and ``python -m emulator.server`` take its flags.

It lives with the server (not in ``cli/``) because the server is started from it inside every
image and stands alone below the rest of the emulator; ``amlemu`` only registers the subcommand.

``amlemu serve --entry_script score.py --model_dir azureml-models/m/1 --port 0`` behaves like
``azmlinfsrv`` with the same flags, except that it listens on 127.0.0.1 only, accepts port 0
(any free port; the log's ``Listening at:`` line names it) and takes the entry script from
``AZUREML_ENTRY_SCRIPT`` when the flag is absent (how an image starts it).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from emulator.exceptions import EmulatorError
from emulator.server.config import ENTRY_SCRIPT, check_app_insights, cli_environment
from emulator.server.logs import configure_logging, server_log
from emulator.server.main import run_server
from emulator.server.version import INFSRV_VERSION

_HELP = "run the scoring server for an entry script (azmlinfsrv's flags)"
_DESCRIPTION = (
    f"Azure ML Inferencing HTTP server v{INFSRV_VERSION}, emulated: "
    "serves an entry script's init()/run() on 127.0.0.1."
)


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("serve", help=_HELP, description=_DESCRIPTION)
    add_arguments(parser)
    parser.set_defaults(handler=serve)


def main(argv: Sequence[str]) -> int:
    """``python -m emulator serve ARGS``, how every image starts its scoring server: the same
    parser, messages and exit codes as ``amlemu serve``, without importing amlemu's other
    commands (each replica's HTTP process would hold them all in memory)."""
    parser = argparse.ArgumentParser(prog="amlemu serve", description=_DESCRIPTION)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return serve(args)
    except (EmulatorError, FileNotFoundError, PermissionError) as exc:  # as amlemu's main
        print(f"amlemu: error: {exc}", file=sys.stderr)
        return 1


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"Specified port '{port}' is invalid. Please specify a port within range the "
            "[0, 65535] range (0: any free port)."
        )
    return port


def _worker_count(value: str) -> int:
    count = int(value)
    if count <= 0:
        raise argparse.ArgumentTypeError(
            f"Specified worker count '{count}' is invalid. Please specify a worker count "
            "greater than zero."
        )
    return count


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """azmlinfsrv's command-line flags."""
    parser.add_argument(
        "--entry_script", help="The relative or absolute path to the scoring script."
    )
    parser.add_argument(
        "--model_dir",
        help="The relative or absolute path to the model directory, exposed to the script as "
        "the 'AZUREML_MODEL_DIR' environment variable.",
    )
    parser.add_argument(
        "--appinsights_instrumentation_key",
        help="The instrumentation key of the Application Insights to send telemetry to. "
        "Nothing is sent: with a valid key (a UUID) the telemetry is recorded as JSON lines "
        "(AZUREML_EMULATOR_TELEMETRY_FILE, see `amlemu logs --telemetry`).",
    )
    parser.add_argument(
        "--port",
        type=_port,
        help="The serving port of the server (0: any free port). Default 5001.",
    )
    parser.add_argument(
        "--health_port",
        type=_port,
        help="The health port, used when SEPERATE_HEALTH_ENDPOINT=true. Default 5000.",
    )
    parser.add_argument(
        "--worker_count",
        type=_worker_count,
        help="The number of worker processes serving requests concurrently. Default 1.",
    )
    parser.add_argument(
        "--access_control_allow_origins",
        help='Enable CORS for the specified origins, separated with ",". '
        'Example: "microsoft.com, bing.com"',
    )
    parser.add_argument(
        "--config_file", help="The relative or absolute path to the configuration file."
    )
    parser.add_argument("--rest", action="store_true", help=argparse.SUPPRESS)


def serve(args: argparse.Namespace) -> int:
    """Build azmlinfsrv's environment from the flags and run the server until it stops."""
    if not (args.entry_script or args.config_file or os.environ.get(ENTRY_SCRIPT)):
        configure_logging()
        server_log.error("Error!")
        server_log.error(
            "Either provide an entry_script using --entry_script or provide a path to the "
            "configuration file using --config_file"
        )
        return 1
    env = cli_environment(
        os.environ,
        entry_script=args.entry_script,
        model_dir=args.model_dir,
        port=args.port,
        health_port=args.health_port,
        worker_count=args.worker_count,
        appinsights_instrumentation_key=args.appinsights_instrumentation_key,
        access_control_allow_origins=args.access_control_allow_origins,
        config_file=args.config_file,
    )
    notices = check_app_insights(env)
    return run_server(env, notices)
