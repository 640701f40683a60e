"""``amlemu ml compute create|show|list|delete``: ``az ml compute`` for AmlCompute clusters.

``create`` loads the YAML (or nothing) with the SDK's ``load_compute`` and ``az ml``'s flags as
``params_override`` (``--name``, ``--type``, ``--size``, ``--min-instances``, ``--max-instances``,
over ``--set``), so a cluster made from flags alone (``amlemu ml compute create -n cpu-cluster
--type amlcompute --min-instances 0 --max-instances 2``) is the one the YAML would make; the
emulator answers with Azure's quota and unknown-size errors.
"""

from __future__ import annotations

import argparse
from typing import Any

from emulator.cli.ml import checks
from emulator.cli.ml.connection import Connection
from emulator.cli.ml.endpoint_verbs import confirm
from emulator.cli.ml.specs import entity_dict, load_spec


def create(conn: Connection, args: argparse.Namespace) -> Any:
    compute = load_spec(conn.sdk.ml.load_compute, args.file, _overrides(args))
    poller = conn.client.compute.begin_create_or_update(compute)
    if args.no_wait:
        checks.initiated("Compute", "create", f"compute show -n {compute.name}")
        return None
    return entity_dict(poller.result())


def show(conn: Connection, args: argparse.Namespace) -> Any:
    return entity_dict(conn.client.compute.get(args.name))


def list_(conn: Connection, args: argparse.Namespace) -> Any:
    computes = conn.client.compute.list(compute_type=args.type)
    listed = [entity_dict(compute) for compute in computes]
    return listed[: args.max_results] if args.max_results else listed


def delete(conn: Connection, args: argparse.Namespace) -> Any:
    confirm(args.yes)
    poller = conn.client.compute.begin_delete(args.name)
    if not args.no_wait:
        poller.result()
    return None


def _overrides(args: argparse.Namespace) -> list[dict[str, Any]]:
    """``--set`` pairs, then az ml's flags (applied last, as for the online verbs)."""
    flagged = {
        "name": args.name,
        "type": args.type,
        "size": args.size,
        "min_instances": args.min_instances,
        "max_instances": args.max_instances,
    }
    pairs: list[dict[str, Any]] = [{k: v} for k, v in flagged.items() if v is not None]
    return [*(args.set or []), *pairs]
