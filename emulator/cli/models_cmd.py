"""``amlemu models list|show``: what the registry holds."""

from __future__ import annotations

import argparse
import json
from typing import Any

from emulator.cli.workspace_arg import add_workspace_options, select_workspace
from emulator.errors import UserErrorException
from emulator.sdk.model import Model


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
    show.add_argument("model", help="NAME or NAME:VERSION (default: the latest version)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=show_model)


def _describe(model: Model) -> dict[str, Any]:
    record = model._record
    return {
        **model.serialize(),
        "kind": record.kind,
        "files": [{"path": f.path, "size": f.size, "sha256": f.digest} for f in record.files],
        "libraryVersions": model.library_versions,
    }


def list_models(args: argparse.Namespace) -> int:
    ws = select_workspace(args)
    models = Model.list(ws, name=args.name, latest=args.latest)
    if args.json:
        print(json.dumps([_describe(m) for m in models], indent=2))
        return 0
    if not models:
        print(f"No models registered in workspace '{ws.name}'.")
        return 0
    rows = [("NAME", "VERSION", "KIND", "FRAMEWORK", "TAGS", "CREATED")]
    for m in models:
        tags = ",".join(f"{k}={v}" for k, v in m.tags.items())
        created = m.created_time.strftime("%Y-%m-%d %H:%M:%S")
        rows.append(
            (m.name, str(m.version), m._record.kind, m.model_framework or "-", tags or "-", created)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    return 0


def show_model(args: argparse.Namespace) -> int:
    ws = select_workspace(args)
    name, _, version = args.model.partition(":")
    if version and not version.isdigit():
        raise UserErrorException(
            f"Model version must be an integer, got '{version}' in {args.model}"
        )
    model = Model(ws, name=name, version=int(version) if version else None)
    details = _describe(model)
    if args.json:
        print(json.dumps(details, indent=2))
        return 0
    for key in (
        "id",
        "name",
        "version",
        "kind",
        "description",
        "framework",
        "frameworkVersion",
        "createdTime",
        "url",
    ):
        print(f"{key:18} {details[key] if details[key] is not None else '-'}")
    print(f"{'tags':18} {json.dumps(details['tags'])}")
    print(f"{'properties':18} {json.dumps(details['properties'])}")
    print(f"{'library versions':18} {json.dumps(details['libraryVersions'])}")
    print("files:")
    for f in details["files"]:
        print(f"  {f['path']}  ({f['size']} bytes)")
    return 0
