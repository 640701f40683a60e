"""``amlemu run script.py [args]``: run unchanged SDK code with the ``azureml`` shim active, and
``azure-ai-ml`` (SDK v2) pointed at the emulator: at the root's daemon when ``amlemu up`` runs,
else at a server of this process for the script's lifetime (:mod:`emulator.daemon.session`).

SIGTERM and SIGHUP stop the script as Ctrl-C does (:mod:`emulator.services.termination`); the
services it deployed are then stopped and their records say why, and ``amlemu`` exits with
128 + the signal's number (143 for SIGTERM), as a shell reports a process ended by it.
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path
from typing import Any

from emulator.activation import mock_aml
from emulator.store.root import EmulatorRoot


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("run", help="run a Python script with azureml.* emulated")
    parser.add_argument("script", help="path of the script to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")
    parser.set_defaults(handler=run_script)


def run_script(args: argparse.Namespace) -> int:
    from emulator.daemon.session import v2_session
    from emulator.services.termination import (
        HostTerminated,
        handle_termination,
        stop_hosted_services,
    )

    script = Path(args.script)
    if not script.is_file():
        raise FileNotFoundError(f"Script not found: {script}. Pass the path of a Python file.")
    saved_argv, saved_path0 = sys.argv, sys.path[0]
    sys.argv = [str(script), *args.args]
    sys.path[0] = str(script.resolve().parent)
    try:
        with handle_termination(), mock_aml(), v2_session(EmulatorRoot.current()):
            runpy.run_path(str(script), run_name="__main__")
    except HostTerminated as exc:
        stop_hosted_services(exc)
        print(
            f"amlemu: {script} stopped: {exc.reason}; its services were stopped.", file=sys.stderr
        )
        return exc.exit_code
    except KeyboardInterrupt as exc:
        stop_hosted_services(exc)
        raise
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)  # sys.exit("message") prints and exits 1, as Python does
        return 1
    finally:
        sys.argv, sys.path[0] = saved_argv, saved_path0
    return 0
