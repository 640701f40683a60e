"""What the ``amlemu ml`` verbs of the online and batch groups check and print alike, one text
each: a specification's names, what an update names, ``--no-wait`` (which only a daemon can
finish after the command returns) and the line ``--no-wait`` prints instead of the result, as
``az ml`` words it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from emulator.cli.ml.connection import Connection
from emulator.exceptions import InvalidSetting


def named_endpoint(endpoint: Any) -> None:
    """Refuse an endpoint specification without a name."""
    if not endpoint.name:
        raise InvalidSetting("The endpoint needs a name: give --name/-n or `name:` in the YAML.")


def endpoint_to_update(args: argparse.Namespace) -> None:
    """Refuse an endpoint update that names neither the endpoint nor a YAML."""
    if args.file is None and not args.name:
        raise InvalidSetting("Give the endpoint to update: --name/-n, or --file/-f with its YAML.")


def named_deployment(deployment: Any) -> None:
    """Refuse a deployment specification without its endpoint or its own name."""
    if not deployment.endpoint_name:
        raise InvalidSetting(
            "The deployment needs its endpoint: give --endpoint-name/-e or `endpoint_name:` "
            "in the YAML."
        )
    if not deployment.name:
        raise InvalidSetting("The deployment needs a name: give --name/-n or `name:` in the YAML.")


def deployment_to_update(args: argparse.Namespace) -> bool:
    """Whether the update reads the deployment that exists (no YAML given); refuse one that
    names neither the deployment and its endpoint nor a YAML."""
    if args.file is not None:
        return False
    if not (args.name and args.endpoint_name):
        raise InvalidSetting(
            "Give the deployment to update: --name/-n and --endpoint-name/-e, or "
            "--file/-f with its YAML."
        )
    return True


def no_wait_needs_daemon(conn: Connection, args: argparse.Namespace) -> None:
    """Refuse ``--no-wait`` for a deployment when no daemon runs: the server this command
    starts would end, with the build, when the command returns."""
    if args.no_wait and not conn.daemon:
        raise InvalidSetting(
            f"--no-wait needs a running emulator: no daemon runs for {conn.root.path}, and the "
            "server this command starts (with the deployment's build) ends when it returns. "
            "Start one with `amlemu up --detach`, or drop --no-wait."
        )


def initiated(what: str, verb: str, show: str) -> None:
    """``--no-wait``'s line (on stderr, as az's): ``what`` (``Batch endpoint``) ``verb``
    (``create``) was accepted and ``amlemu ml show`` shows how it goes."""
    print(
        f"{what} {verb} request initiated. Status can be checked using `amlemu ml {show}`",
        file=sys.stderr,
    )
