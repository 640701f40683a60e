"""``amlemu ml online-deployment create|update|show|list|delete|get-logs``.

``create``/``update`` run the SDK's long-running operation (uploads of the YAML's local model,
code and conda file, then the emulator's build and ``init()``); ``--all-traffic`` then gives the
deployment all of its endpoint's traffic, as ``az ml`` does. ``--no-wait`` returns once the
emulator has accepted the operation, which only a daemon can finish after the command returns.
``--local`` is the SDK's ``local=True``: the deployment runs in its local mode, on the
emulator's Docker API (synchronous; a local endpoint has one deployment and no traffic).
"""

from __future__ import annotations

import argparse
from typing import Any

from emulator.cli.ml import checks
from emulator.cli.ml.connection import Connection
from emulator.cli.ml.endpoint_verbs import confirm, overrides
from emulator.cli.ml.specs import entity_dict, load_spec
from emulator.exceptions import InvalidSetting


def create(conn: Connection, args: argparse.Namespace) -> Any:
    _check_waiting(conn, args)
    deployment = load_spec(conn.sdk.ml.load_online_deployment, args.file, overrides(args))
    return _submit(conn, deployment, args, "create")


def update(conn: Connection, args: argparse.Namespace) -> Any:
    _check_waiting(conn, args)
    current = None
    if checks.deployment_to_update(args):
        current = conn.client.online_deployments.get(
            args.name, args.endpoint_name, local=args.local
        )
    loader = conn.sdk.ml.load_online_deployment
    deployment = load_spec(loader, args.file, overrides(args), current)
    return _submit(conn, deployment, args, "update")


def show(conn: Connection, args: argparse.Namespace) -> Any:
    deployments = conn.client.online_deployments
    return entity_dict(deployments.get(args.name, args.endpoint_name, local=args.local))


def list_(conn: Connection, args: argparse.Namespace) -> Any:
    deployments = conn.client.online_deployments.list(args.endpoint_name, local=args.local)
    return [entity_dict(deployment) for deployment in deployments]


def delete(conn: Connection, args: argparse.Namespace) -> Any:
    confirm(args.yes)
    poller = conn.client.online_deployments.begin_delete(
        name=args.name, endpoint_name=args.endpoint_name, local=args.local
    )
    if not (args.no_wait or args.local):
        poller.result()
    return None


#: ``get-logs --local`` without ``--lines``: the SDK's local mode needs a number (it calls
#: ``int(lines)``); the emulator's getLogs tails as many when the request names none.
LOCAL_LINES = 5000


def get_logs(conn: Connection, args: argparse.Namespace) -> Any:
    lines = LOCAL_LINES if args.local and args.lines is None else args.lines
    return conn.client.online_deployments.get_logs(
        args.name,
        args.endpoint_name,
        lines,
        container_type=args.container_type,
        local=args.local,
    )


def _check_waiting(conn: Connection, args: argparse.Namespace) -> None:
    if args.local and getattr(args, "all_traffic", False):
        raise InvalidSetting(
            "--all-traffic does not apply to --local: a local endpoint serves its one "
            "deployment (the SDK's local mode has no traffic). Drop --all-traffic."
        )
    if args.no_wait and getattr(args, "all_traffic", False):
        raise InvalidSetting(
            "--all-traffic needs the deployment to exist first: drop --no-wait, or set the "
            "traffic later with `amlemu ml online-endpoint update -n ENDPOINT --traffic NAME=100`."
        )
    checks.no_wait_needs_daemon(conn, args)


def _submit(conn: Connection, deployment: Any, args: argparse.Namespace, verb: str) -> Any:
    checks.named_deployment(deployment)
    if args.local:
        local = conn.client.online_deployments.begin_create_or_update(
            deployment, local=True, skip_script_validation=args.skip_script_validation
        )
        return entity_dict(local)
    poller = conn.client.online_deployments.begin_create_or_update(
        deployment, skip_script_validation=args.skip_script_validation
    )
    if args.no_wait:
        show = f"online-deployment show -e {deployment.endpoint_name} -n {deployment.name}"
        checks.initiated("Deployment", verb, show)
        return None
    result = poller.result()
    if getattr(args, "all_traffic", False):
        endpoints = conn.client.online_endpoints
        endpoint = endpoints.get(deployment.endpoint_name)
        endpoint.traffic = {result.name: 100}
        endpoints.begin_create_or_update(endpoint).result()
    return entity_dict(result)
