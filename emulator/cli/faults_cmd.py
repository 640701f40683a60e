"""``amlemu faults list|inject|clear``: fault injection from a shell.

Faults are files under the emulator root, so a fault injected here reaches the service in the
process that deployed it (a test session, a notebook) within 50 ms. ``TARGET`` is a service
name, or ``@workspace`` for the workspace's image builds and cluster provisioning; ``--endpoint
EP --deployment D`` (or ``TARGET`` ``EP/D``, as ``list`` shows it) names an SDK v2 online
deployment, whose faults act on its replicas in the process serving the ARM face (``amlemu up``).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from emulator.cli.workspace_arg import add_workspace_options, select_workspace
from emulator.endpoints import OnlineEndpoints
from emulator.endpoints.deployments import OnlineDeployments
from emulator.errors import UserErrorException
from emulator.exceptions import NotFound
from emulator.faults.api import OnlineDeploymentFaults, ServiceFaults, WorkspaceFaults
from emulator.faults.model import ACTION_KINDS, Fault, FaultKind, FaultState
from emulator.faults.store import WORKSPACE_TARGET, faults_dir, online_faults_dir
from emulator.sdk.webservice.base import services
from emulator.sdk.workspace import Workspace

WORKSPACE = "@workspace"
Faults = ServiceFaults | WorkspaceFaults | OnlineDeploymentFaults


def _add_online_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint", help="an SDK v2 online endpoint (with --deployment)")
    parser.add_argument("--deployment", help="a deployment of --endpoint (instead of TARGET)")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("faults", help="inject faults into services and builds")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    listing = verbs.add_parser("list", help="list injected faults")
    add_workspace_options(listing)
    listing.add_argument(
        "target", nargs="?", help=f"a service, EP/DEPLOYMENT or {WORKSPACE} (default: all)"
    )
    _add_online_options(listing)
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=list_faults)

    inject = verbs.add_parser("inject", help="inject a fault")
    add_workspace_options(inject)
    inject.add_argument(
        "target",
        nargs="?",
        help=f"a service, EP/DEPLOYMENT, or {WORKSPACE} for builds/provisioning",
    )
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
    _add_online_options(inject)
    inject.set_defaults(handler=inject_fault)

    clear = verbs.add_parser("clear", help="remove faults (all of TARGET, or one with --id)")
    add_workspace_options(clear)
    clear.add_argument("target", nargs="?", help=f"a service, EP/DEPLOYMENT or {WORKSPACE}")
    clear.add_argument("--id", help="only this fault (f1, f2, ...)")
    _add_online_options(clear)
    clear.set_defaults(handler=clear_faults)


def _target(args: argparse.Namespace, required: bool = True) -> str | None:
    """What the command names: ``TARGET``, or ``EP/D`` for ``--endpoint EP --deployment D``."""
    online = (args.endpoint, args.deployment)
    if any(online):
        if not all(online) or args.target:
            raise UserErrorException(
                "Name an online deployment with both --endpoint and --deployment, and no "
                f"TARGET (got TARGET={args.target!r}, --endpoint={args.endpoint!r}, "
                f"--deployment={args.deployment!r})."
            )
        return f"{args.endpoint}/{args.deployment}"
    if required and not args.target:
        raise UserErrorException(
            f"Name what to act on: a service name, {WORKSPACE}, or --endpoint EP --deployment D "
            "for an SDK v2 online deployment."
        )
    return args.target if isinstance(args.target, str) else None


def _faults(ws: Workspace, target: str, must_exist: bool = True) -> Faults:
    if target == WORKSPACE:
        return WorkspaceFaults(ws.emulator_state.root.path, ws.emulator_state.id)
    if "/" in target:
        return _online_faults(ws, target, must_exist)
    if must_exist and services(ws).registry.get(target) is None:
        known = ", ".join(r.name for r in services(ws).registry.records()) or "none"
        raise UserErrorException(
            f"No service {target!r} in workspace '{ws.name}'. Services: {known}. Use "
            f"{WORKSPACE} for image-build and provisioning faults, --endpoint and --deployment "
            "for an SDK v2 online deployment."
        )
    return ServiceFaults(ws.emulator_state.root.path, ws.emulator_state.id, target)


def _online_faults(ws: Workspace, target: str, must_exist: bool) -> OnlineDeploymentFaults:
    """The faults of online deployment ``EP/D``; with ``must_exist``, both must exist (the
    error names those there are)."""
    endpoint, _, deployment = target.partition("/")
    state = ws.emulator_state
    if must_exist:
        try:
            endpoint = OnlineEndpoints(state.root, state.id).get(endpoint).name
            deployment = OnlineDeployments(state.root, state.id).get(endpoint, deployment).name
        except NotFound as exc:
            raise UserErrorException(f"{exc.message} (workspace '{ws.name}')") from None
    return OnlineDeploymentFaults(state.root.path, state.id, endpoint, deployment)


def _targets(ws: Workspace) -> list[str]:
    directory = faults_dir(ws.emulator_state.root.path, ws.emulator_state.id)
    names = sorted(path.stem for path in directory.glob("*.json")) if directory.is_dir() else []
    online = online_faults_dir(ws.emulator_state.root.path, ws.emulator_state.id)
    deployments = sorted(f"{path.parent.name}/{path.stem}" for path in online.glob("*/*.json"))
    return [WORKSPACE if name == WORKSPACE_TARGET else name for name in names] + deployments


def _row(target: str, fault: Fault) -> dict[str, Any]:
    return {"target": target, **fault.to_json(), "description": fault.describe()}


def list_faults(args: argparse.Namespace) -> int:
    ws = select_workspace(args)
    named = _target(args, required=False)
    targets = [named] if named else _targets(ws)
    rows = [
        _row(target, fault)
        for target in targets
        for fault in _faults(ws, target, must_exist=bool(named)).list()
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
    target = _target(args)
    assert target is not None  # required
    faults = _faults(ws, target)
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
                f"{exc} It stays pending; remove it with: amlemu faults clear "
                f"{_clear_target(target)} --id {handle.id}"
            ) from None
    if args.json:
        print(json.dumps(_row(target, fault), indent=2))
    else:
        done = f": {fault.detail}" if fault.state is FaultState.DONE and fault.detail else ""
        print(f"Injected {fault.id} into {target}: {fault.describe()} ({fault.state}{done})")
    return 0


def clear_faults(args: argparse.Namespace) -> int:
    ws = select_workspace(args)
    target = _target(args)
    assert target is not None  # required
    faults = _faults(ws, target, must_exist=False)
    if args.id:
        removed = faults.remove(args.id)
        if removed is None:
            known = ", ".join(f.id for f in faults.list()) or "none"
            raise UserErrorException(f"No fault {args.id} on {target}. Faults: {known}.")
        print(f"Removed {removed.id} from {target}: {removed.describe()}")
        return 0
    cleared = faults.clear()
    print(f"Removed {len(cleared)} fault(s) from {target}.")
    return 0


def _clear_target(target: str) -> str:
    """``target`` as ``amlemu faults clear`` takes it."""
    endpoint, slash, deployment = target.partition("/")
    return f"--endpoint {endpoint} --deployment {deployment}" if slash else target
