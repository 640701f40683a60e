"""``amlemu ls [KIND]``: the workspace's models, images, services and compute targets.

Without a kind all four are listed, grouped, as the portal's left-hand menu offers them.
``--json`` prints each resource's full details (what ``describe`` shows, keys masked).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from emulator.cli.output import print_json, print_table
from emulator.cli.workspace_arg import add_workspace_options, select_workspace
from emulator.sdk.model import Model
from emulator.sdk.workspace import Workspace
from emulator.views import resources


@dataclass(frozen=True)
class _Listing:
    title: str
    noun: str
    header: Sequence[str]
    items: Callable[[Workspace], Sequence[Any]]
    row: Callable[[Any], tuple[str, ...]]
    details: Callable[[Any], dict[str, Any]]


_LISTINGS = {
    "models": _Listing(
        "Models",
        "models",
        resources.MODEL_HEADER,
        lambda ws: Model.list(ws),
        resources.model_row,
        resources.model_details,
    ),
    "images": _Listing(
        "Images",
        "images",
        resources.IMAGE_HEADER,
        resources.list_images,
        resources.image_row,
        resources.image_details,
    ),
    "services": _Listing(
        "Services",
        "services",
        resources.SERVICE_HEADER,
        resources.list_services,
        resources.service_row,
        resources.service_details,
    ),
    "compute": _Listing(
        "Compute",
        "compute targets",
        resources.COMPUTE_HEADER,
        resources.list_compute,
        resources.compute_row,
        resources.compute_details,
    ),
}


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "ls", help="list models, images, services and compute targets of a workspace"
    )
    add_workspace_options(parser)
    parser.add_argument(
        "kind",
        nargs="?",
        type=resources.kind,
        metavar="KIND",
        help=f"one of {', '.join(resources.KINDS)} (default: all, grouped)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=list_resources)


def list_resources(args: argparse.Namespace) -> int:
    ws = select_workspace(args)
    kinds = [args.kind] if args.kind else list(resources.KINDS)
    found = {kind: _LISTINGS[kind].items(ws) for kind in kinds}
    if args.json:
        details = {
            kind: [_LISTINGS[kind].details(item) for item in items] for kind, items in found.items()
        }
        print_json(details[args.kind] if args.kind else details)
        return 0
    for index, (kind, items) in enumerate(found.items()):
        listing = _LISTINGS[kind]
        if not args.kind:
            print(("\n" if index else "") + f"{listing.title}:")
        if items:
            print_table(listing.header, (listing.row(item) for item in items))
        else:
            print(f"No {listing.noun} in workspace '{ws.name}'.")
    return 0
