"""``amlemu faults list|inject|clear``: fault injection from a shell.

Faults are files under the emulator root, so a fault injected here reaches the service in the
process that deployed it (a test session, a notebook) within 50 ms. ``TARGET`` is a service
name, or ``@workspace`` for the workspace's image builds and cluster provisioning.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from emulator.cli.workspace_arg import add_workspace_options, select_workspace
from emulator.errors import UserErrorException
from emulator.faults.api import ServiceFaults, WorkspaceFaults
from emulator.faults.model import ACTION_KINDS, Fault, FaultKind, FaultState
from emulator.faults.store import WORKSPACE_TARGET, faults_dir
from emulator.sdk.webservice.base import services
from emulator.sdk.workspace import Workspace

WORKSPACE = "@workspace"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("faults", help="inject faults into services and builds")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    listing = verbs.add_parser("list", help="list injected faults")
    add_workspace_options(listing)
    listing.add_argument("target", nargs="?", help=f"a service name or {WORKSPACE} (default: all)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=list_faults)

    inject = verbs.add_parser("inject", help="inject a fault")
    add_workspace_options(inject)
    inject.add_argument("target", help=f"a service name, or {WORKSPACE} for builds/provisioning")
    inject.add_argument("kind", choices=[kind.value for kind in FaultKind], help="the fault")
    inject.add_argument("--status", type=int, help="status: the HTTP status to answer")
    inject.add_argument("--share", type=float, help="status/latency/drop: fraction of requests")
    inject.add_argument("--seed", type=int, help="status/latency/drop: random seed (default 0)")
    inject.add_argument("--seconds", type=float, help="latency: delay; token-expiry: max age")
    inject.add_argument("--times", type=int, help="init-failure/image-build/provisioning: count")
    inject.add_argument("--replica", type=int, help="kill/pause/memory: replica index (0)")
    inject.add_argument(
        "--wait",
        type=float,
        default=10.0,
        help="kill/pause/memory: seconds to wait until applied (default 10; 0: do not wait)",
    )
    inject.add_argument("--json", action="store_true", help="print JSON")
    inject.set_defaults(handler=inject_fault)

    clear = verbs.add_parser("clear", help="remove faults (all of TARGET, or one with --id)")
    add_workspace_options(clear)
    clear.add_argument("target", help=f"a service name or {WORKSPACE}")
    clear.add_argument("--id", help="only this fault (f1, f2, ...)")
    clear.set_defaults(handler=clear_faults)


def _faults(ws: Workspace, target: str, must_exist: bool = True) -> ServiceFaults | WorkspaceFaults:
    if target == WORKSPACE:
        return WorkspaceFaults(ws.emulator_state.root.path, ws.emulator_state.id)
    if must_exist and services(ws).registry.get(target) is None:
        known = ", ".join(r.name for r in services(ws).registry.records()) or "none"
        raise UserErrorException(
            f"No service {target!r} in workspace '{ws.name}'. Services: {known}. Use "
            f"{WORKSPACE} for image-build and provisioning faults."
        )
    return ServiceFaults(ws.emulator_state.root.path, ws.emulator_state.id, target)


def _targets(ws: Workspace) -> list[str]:
    directory = faults_dir(ws.emulator_state.root.path, ws.emulator_state.id)
    names = sorted(path.stem for path in directory.glob("*.json")) if directory.is_dir() else []
    return [WORKSPACE if name == WORKSPACE_TARGET else name for name in names]


def _row(target: str, fault: Fault) -> dict[str, Any]:
    return {"target": target, **fault.to_json(), "description": fault.describe()}


def list_faults(args: argparse.Namespace) -> int:
    ws = select_workspace(args)
    targets = [args.target] if args.target else _targets(ws)
    rows = [
        _row(target, fault)
        for target in targets
        for fault in _faults(ws, target, must_exist=bool(args.target)).list()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"No faults in workspace '{ws.name}'.")
        return 0
    table = [("TARGET", "ID", "KIND", "STATE", "WHAT")]
    for row in rows:
        what = row["description"] + (f" -> {row['detail']}" if row["detail"] else "")
        table.append((row["target"], row["id"], row["kind"], row["state"], what))
    widths = [max(len(line[i]) for line in table) for i in range(4)]
    for line in table:
        cells = [cell.ljust(width) for cell, width in zip(line[:4], widths, strict=True)]
        print("  ".join([*cells, line[4]]))
    return 0


def inject_fault(args: argparse.Namespace) -> int:
    ws = select_workspace(args)
    faults = _faults(ws, args.target)
    handle = faults.inject(
        args.kind,
        status=args.status,
        share=args.share,
        seed=args.seed,
        seconds=args.seconds,
        times=args.times,
        replica=args.replica,
    )
    fault = handle.fault
    if handle.kind in ACTION_KINDS and args.wait > 0:
        try:
            fault = handle.wait(args.wait)
        except TimeoutError as exc:
            raise UserErrorException(
                f"{exc} It stays pending; remove it with: amlemu faults clear {args.target} "
                f"--id {handle.id}"
            ) from None
    if args.json:
        print(json.dumps(_row(args.target, fault), indent=2))
    else:
        done = f": {fault.detail}" if fault.state is FaultState.DONE and fault.detail else ""
        print(f"Injected {fault.id} into {args.target}: {fault.describe()} ({fault.state}{done})")
    return 0


def clear_faults(args: argparse.Namespace) -> int:
    ws = select_workspace(args)
    faults = _faults(ws, args.target, must_exist=False)
    if args.id:
        removed = faults.remove(args.id)
        if removed is None:
            known = ", ".join(f.id for f in faults.list()) or "none"
            raise UserErrorException(f"No fault {args.id} on {args.target}. Faults: {known}.")
        print(f"Removed {removed.id} from {args.target}: {removed.describe()}")
        return 0
    cleared = faults.clear()
    print(f"Removed {len(cleared)} fault(s) from {args.target}.")
    return 0
