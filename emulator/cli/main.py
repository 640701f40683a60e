"""Argument parsing and dispatch for ``amlemu``.

Exit codes: 0 success, 1 the command failed (the message says why), 2 bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from emulator._version import SDK_VERSION, __version__
from emulator.cli import (
    build_log_cmd,
    daemon_cmd,
    data_cmd,
    demo_cmd,
    describe_cmd,
    env_cmd,
    exec_cmd,
    faults_cmd,
    logs_cmd,
    ls_cmd,
    ml_cmd,
    models_cmd,
    portal_cmd,
    run_cmd,
    validate_cmd,
)
from emulator.errors import AzureMLException
from emulator.exceptions import EmulatorError
from emulator.server import command as serve_command
from emulator.settings import ROOT_ENV


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amlemu", description="Azure Machine Learning deployments, emulated offline."
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"amlemu {__version__} (emulates azureml-core {SDK_VERSION})",
    )
    parser.add_argument(
        "--root", help=f"emulator root directory (default: ${ROOT_ENV} or a per-user directory)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    run_cmd.add_parser(commands)
    models_cmd.add_parser(commands)
    ls_cmd.add_parser(commands)
    describe_cmd.add_parser(commands)
    logs_cmd.add_parser(commands)
    build_log_cmd.add_parser(commands)
    exec_cmd.add_parser(commands)
    serve_command.add_parser(commands)
    demo_cmd.add_parser(commands)
    validate_cmd.add_parser(commands)
    faults_cmd.add_parser(commands)
    portal_cmd.add_parser(commands)
    daemon_cmd.add_parser(commands)
    env_cmd.add_parser(commands)
    ml_cmd.add_parser(commands)
    data_cmd.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.root:
        os.environ[ROOT_ENV] = os.path.abspath(args.root)
    try:
        return int(args.handler(args))
    except (AzureMLException, EmulatorError, FileNotFoundError, PermissionError) as exc:
        print(f"amlemu: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (`amlemu logs svc | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
