"""``amlemu demo``: the offline end-to-end walkthrough (see :mod:`emulator.demo`)."""

from __future__ import annotations

from typing import Any

from emulator.demo import run_demo


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("demo", help="run the offline end-to-end demo")
    parser.add_argument(
        "--keep", action="store_true", help="keep the demo's working directory and print its path"
    )
    parser.set_defaults(handler=lambda args: run_demo(keep=args.keep))
