"""``amlemu data serve-url|urls|unserve-url``: the web URLs the emulator serves to jobs.

There is no internet here, so a job's ``https://`` input is read from a local file or folder the
user registers for its URL (:mod:`emulator.assets.served_urls`); any other URL fails as an
unreachable input does in Azure. Registrations live in the root, so the daemon, a test session
and this command see the same ones.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from emulator.assets.served_urls import ServedUrls
from emulator.store.root import EmulatorRoot


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("data", help="inputs of SDK v2 jobs: the web URLs served")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    serve = verbs.add_parser(
        "serve-url", help="serve a local file or folder as an http(s):// input URL"
    )
    serve.add_argument("url", help="the URL jobs name (https://host/path/file.csv, or a folder)")
    serve.add_argument("path", type=Path, help="the local file or folder that stands for it")
    serve.set_defaults(handler=_serve)

    listing = verbs.add_parser("urls", help="list the served URLs")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_list)

    forget = verbs.add_parser("unserve-url", help="stop serving a URL")
    forget.add_argument("url")
    forget.set_defaults(handler=_forget)


def _serve(args: argparse.Namespace) -> int:
    served = ServedUrls(EmulatorRoot.current()).serve(args.url, args.path)
    kind = "folder" if served.path.is_dir() else "file"
    print(f"Serving {served.url} from the {kind} {served.path}")
    return 0


def _list(args: argparse.Namespace) -> int:
    served = ServedUrls(EmulatorRoot.current()).all()
    if args.json:
        print(json.dumps([{"url": s.url, "path": str(s.path)} for s in served], indent=2))
        return 0
    if not served:
        print("No URLs are served. Add one: amlemu data serve-url URL PATH")
    for s in served:
        missing = "" if s.path.exists() else "  (missing: jobs reading it fail)"
        print(f"{s.url}  ->  {s.path}{missing}")
    return 0


def _forget(args: argparse.Namespace) -> int:
    ServedUrls(EmulatorRoot.current()).forget(args.url)
    print(f"No longer serving {args.url}")
    return 0
