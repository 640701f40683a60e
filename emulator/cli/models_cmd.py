"""``amlemu models list|show``: what the registry holds."""

from __future__ import annotations

import argparse
import json
from typing import Any

from emulator.cli.output import print_fields, print_json, print_table
from emulator.cli.workspace_arg import add_workspace_options, select_workspace
from emulator.sdk.model import Model
from emulator.views.resources import (
    MODEL_HEADER,
    find_model,
    model_details,
    model_row,
    name_version,
)


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("models", help="registered models")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    listing = verbs.add_parser("list", help="list registered models")
    add_workspace_options(listing)
    listing.add_argument("--name", help="only versions of this model")
    listing.add_argument("--latest", action="store_true", help="only the latest version of each")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=list_models)

    show = verbs.add_parser("show", help="show one model version, its files and provenance")
    add_workspace_options(show)
    show.add_argument(
        "model", type=name_version, help="NAME or NAME:VERSION (default: the latest version)"
    )
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=show_model)


def list_models(args: argparse.Namespace) -> int:
    ws = select_workspace(args)
    models = Model.list(ws, name=args.name, latest=args.latest)
    if args.json:
        print_json([model_details(m) for m in models])
        return 0
    if not models:
        print(f"No models registered in workspace '{ws.name}'.")
        return 0
    print_table(MODEL_HEADER, (model_row(m) for m in models))
    return 0


def show_model(args: argparse.Namespace) -> int:
    ws = select_workspace(args)
    details = model_details(find_model(ws, args.model))
    if args.json:
        print_json(details)
        return 0
    print_model(details)
    return 0


def print_model(details: dict[str, Any]) -> None:
    """One model version as ``models show`` and ``describe model`` print it."""
    keys = ("id", "name", "version", "kind", "description", "framework", "frameworkVersion")
    print_fields([(key, details[key]) for key in keys])
    print_fields(
        [
            ("createdTime", details["createdTime"]),
            ("url", details["url"]),
            ("tags", json.dumps(details["tags"])),
            ("properties", json.dumps(details["properties"])),
            ("library versions", json.dumps(details["libraryVersions"])),
        ]
    )
    print("files:")
    for f in details["files"]:
        print(f"  {f['path']}  ({f['size']} bytes)")
