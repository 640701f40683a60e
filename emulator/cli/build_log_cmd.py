"""``amlemu build-log IMAGE[:VERSION]``: the image's build log (``image_build_log_uri``'s file),
every step with its timing and, for a failed build, the failing step and the tool's output."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from emulator.cli.workspace_arg import add_workspace_options, select_workspace
from emulator.images.build import log_path
from emulator.views import resources


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("build-log", help="an image's build log")
    add_workspace_options(parser)
    parser.add_argument(
        "image",
        type=resources.name_version,
        metavar="IMAGE[:VERSION]",
        help="the image (default: its latest version)",
    )
    parser.set_defaults(handler=show_build_log)


def show_build_log(args: argparse.Namespace) -> int:
    ws = select_workspace(args)
    image = resources.find_image(ws, args.image)
    path = log_path(image.emulator_record)
    if not path.exists():
        print(f"Image {image.id} has no build log yet (state {image.creation_state}).")
        return 0
    sys.stdout.write(path.read_text(encoding="utf-8", errors="replace"))
    return 0
