"""``amlemu ml online-endpoint create|update|show|list|delete|invoke|get-credentials``.

Each verb does what ``az ml``'s does with the same SDK calls, and returns what ``az ml`` prints
(the entity's dump, a list of them, the scoring answer as text, the keys) or ``None`` for
nothing. Endpoint operations finish within their request in the emulator, so ``--no-wait`` only
skips reading the result. ``--local`` is the SDK's ``local=True`` (its local mode, answered by
the emulator's Docker API that :func:`~emulator.daemon.session.v2_session` points it at): those
calls finish before they return, with no poller.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from emulator.cli.ml import checks
from emulator.cli.ml.connection import Connection
from emulator.cli.ml.specs import entity_dict, load_spec, plain_object
from emulator.exceptions import InvalidSetting


def create(conn: Connection, args: argparse.Namespace) -> Any:
    endpoint = load_spec(conn.sdk.ml.load_online_endpoint, args.file, overrides(args))
    checks.named_endpoint(endpoint)
    return _submit(conn, endpoint, args, "create")


def update(conn: Connection, args: argparse.Namespace) -> Any:
    checks.endpoint_to_update(args)
    current = None if args.file else conn.client.online_endpoints.get(args.name, local=args.local)
    endpoint = load_spec(conn.sdk.ml.load_online_endpoint, args.file, overrides(args), current)
    if args.traffic is not None:
        endpoint.traffic = args.traffic
    if args.mirror_traffic is not None:
        endpoint.mirror_traffic = args.mirror_traffic
    return _submit(conn, endpoint, args, "update")


def show(conn: Connection, args: argparse.Namespace) -> Any:
    return entity_dict(conn.client.online_endpoints.get(args.name, local=args.local))


def list_(conn: Connection, args: argparse.Namespace) -> Any:
    endpoints = conn.client.online_endpoints.list(local=args.local)
    return [entity_dict(endpoint) for endpoint in endpoints]


def delete(conn: Connection, args: argparse.Namespace) -> Any:
    confirm(args.yes)
    poller = conn.client.online_endpoints.begin_delete(name=args.name, local=args.local)
    if not (args.no_wait or args.local):
        poller.result()
    return None


def invoke(conn: Connection, args: argparse.Namespace) -> Any:
    request = request_file(args.request_file)
    return conn.client.online_endpoints.invoke(
        endpoint_name=args.name,
        request_file=str(request),
        deployment_name=args.deployment_name,
        local=args.local,
    )


def get_credentials(conn: Connection, args: argparse.Namespace) -> Any:
    return plain_object(conn.client.online_endpoints.get_keys(name=args.name))


def overrides(args: argparse.Namespace) -> list[dict[str, Any]]:
    """``--set`` pairs, then the names given by flags (az ml applies them last)."""
    pairs: list[dict[str, Any]] = list(args.set or [])
    if args.name:
        pairs.append({"name": args.name})
    if getattr(args, "endpoint_name", None):
        pairs.append({"endpoint_name": args.endpoint_name})
    return pairs


def confirm(yes: bool) -> None:
    """``az``'s confirmation for deletes: ``--yes/-y`` skips it; without a terminal it is needed."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise InvalidSetting("Unable to prompt for confirmation as no tty available. Use --yes.")
    answer = input("Are you sure you want to perform this operation? (y/n): ")
    if answer.strip().lower() not in ("y", "yes"):
        raise InvalidSetting("Operation cancelled.")


def request_file(value: str) -> Path:
    """``--request-file``: a JSON file (the SDK posts ``json.loads`` of it)."""
    path = Path(value)
    try:
        json.loads(path.read_bytes())
    except OSError as exc:
        raise InvalidSetting(
            f"--request-file {value}: cannot read it ({exc.strerror}). Give the path of a JSON "
            "request body, e.g. --request-file sample-request.json."
        ) from None
    except ValueError as exc:
        raise InvalidSetting(
            f"--request-file {value} is not valid JSON ({exc}); the request body must be JSON."
        ) from None
    return path


def _submit(conn: Connection, endpoint: Any, args: argparse.Namespace, verb: str) -> Any:
    if args.local:
        local = conn.client.online_endpoints.begin_create_or_update(endpoint, local=True)
        return entity_dict(local)
    poller = conn.client.online_endpoints.begin_create_or_update(endpoint)
    if args.no_wait:
        checks.initiated("Endpoint", verb, f"online-endpoint show -n {endpoint.name}")
        return None
    return entity_dict(poller.result())
