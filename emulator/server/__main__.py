"""``python -m emulator.server [azmlinfsrv flags]``: the server without the ``amlemu`` front."""

from __future__ import annotations

import argparse
import sys

from emulator.server.command import add_arguments, serve

parser = argparse.ArgumentParser(prog="python -m emulator.server")
add_arguments(parser)
sys.exit(serve(parser.parse_args()))
