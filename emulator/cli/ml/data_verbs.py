"""``amlemu ml data create|show|list|archive|restore``: ``az ml data`` for data assets.

``create`` loads the YAML with the SDK's ``load_data`` (``type: uri_file|uri_folder|mltable``,
``path`` relative to the file) and ``az ml``'s flags (``--name``, ``--version``, ``--path``,
``--type``, ``--description``) as ``params_override``; the SDK uploads a local path to the
workspace's default datastore, as ``az ml data create`` does. ``show`` takes ``--version`` or
``--label`` (``latest``); ``list`` shows the assets, or one asset's versions with ``--name``;
archived ones only with ``--include-archived`` / ``--archived-only``.
"""

from __future__ import annotations

import argparse
from typing import Any

from emulator.cli.ml import flags
from emulator.cli.ml.connection import Connection
from emulator.cli.ml.specs import entity_dict, load_spec


def create(conn: Connection, args: argparse.Namespace) -> Any:
    flagged = {
        "name": args.name,
        "version": args.version,
        "path": args.path,
        "type": args.type,
        "description": args.description,
    }
    pairs = [*(args.set or []), *({k: v} for k, v in flagged.items() if v is not None)]
    data = load_spec(conn.sdk.ml.load_data, args.file, pairs)
    return entity_dict(conn.client.data.create_or_update(data))


def show(conn: Connection, args: argparse.Namespace) -> Any:
    return entity_dict(conn.client.data.get(args.name, version=args.version, label=args.label))


def list_(conn: Connection, args: argparse.Namespace) -> Any:
    list_view_type = flags.list_view(args, conn.sdk.ml.constants.ListViewType)
    listed = [
        entity_dict(data)
        for data in conn.client.data.list(name=args.name, list_view_type=list_view_type)
    ]
    return listed[: args.max_results] if args.max_results else listed


def archive(conn: Connection, args: argparse.Namespace) -> Any:
    conn.client.data.archive(args.name, version=args.version, label=args.label)
    return None


def restore(conn: Connection, args: argparse.Namespace) -> Any:
    conn.client.data.restore(args.name, version=args.version, label=args.label)
    return None
