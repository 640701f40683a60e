"""``amlemu ml batch-deployment create|show|list|update|delete``: ``az ml batch-deployment``.

``create``/``update`` load the YAML with the SDK's loader for its ``type`` (``type: model``:
``load_model_batch_deployment``, a ``ModelBatchDeployment`` with its ``settings``; ``pipeline``:
``load_pipeline_component_batch_deployment``; none: ``load_batch_deployment``; local model and
code paths relative to the file, uploaded by the SDK) and run its long-running operation, in which
the emulator builds the deployment's image. ``--set-default`` then makes it its endpoint's
``defaults.deployment_name``, as ``az ml`` does. ``update`` without ``--file`` edits what exists:
its dump (settings flat, as the SDK dumps them, so the ``BatchDeployment`` schema) with ``--set``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from emulator.cli.ml import checks
from emulator.cli.ml.connection import Connection
from emulator.cli.ml.endpoint_verbs import confirm, overrides
from emulator.cli.ml.specs import Loader, entity_dict, load_spec
from emulator.exceptions import InvalidSetting


def create(conn: Connection, args: argparse.Namespace) -> Any:
    checks.no_wait_needs_daemon(conn, args)
    if args.no_wait and args.set_default:
        raise InvalidSetting(
            "--set-default needs the deployment to exist first: drop --no-wait, or make it the "
            "default later with `amlemu ml batch-endpoint update -n ENDPOINT "
            "--set defaults.deployment_name=NAME`."
        )
    pairs = overrides(args)
    deployment = load_spec(_loader(args.file, pairs), args.file, pairs)
    return _submit(conn, deployment, args, "create")


def update(conn: Connection, args: argparse.Namespace) -> Any:
    checks.no_wait_needs_daemon(conn, args)
    current = None
    if checks.deployment_to_update(args):
        current = conn.client.batch_deployments.get(args.name, args.endpoint_name)
    pairs = overrides(args)
    deployment = load_spec(_loader(args.file, pairs), args.file, pairs, current)
    return _submit(conn, deployment, args, "update")


def show(conn: Connection, args: argparse.Namespace) -> Any:
    return entity_dict(conn.client.batch_deployments.get(args.name, args.endpoint_name))


def list_(conn: Connection, args: argparse.Namespace) -> Any:
    deployments = conn.client.batch_deployments.list(args.endpoint_name)
    return [entity_dict(deployment) for deployment in deployments]


def delete(conn: Connection, args: argparse.Namespace) -> Any:
    confirm(args.yes)
    poller = conn.client.batch_deployments.begin_delete(
        name=args.name, endpoint_name=args.endpoint_name
    )
    if not args.no_wait:
        poller.result()
    return None


def _loader(source: Path | None, pairs: list[dict[str, Any]]) -> Loader:
    """The SDK's loader for the specification's ``type`` (``--set type=`` first, then the
    YAML's): ``model`` and ``pipeline`` each have their own schema (only ``model`` knows
    ``settings``); anything else, and a dump, is the older ``BatchDeployment``'s."""
    kind = next((pair["type"] for pair in reversed(pairs) if "type" in pair), None)
    if kind is None and source is not None:
        try:
            spec = yaml.safe_load(source.read_text())
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            spec = None  # the SDK's loader reads the file again and names the problem
        kind = spec.get("type") if isinstance(spec, dict) else None
    # azure-ai-ml exports load_batch_deployment only; the typed loaders are its module's.
    from azure.ai.ml.entities import _load_functions as load

    loaders: dict[Any, Loader] = {
        "model": load.load_model_batch_deployment,
        "pipeline": load.load_pipeline_component_batch_deployment,
    }
    return loaders.get(kind, load.load_batch_deployment)


def _submit(conn: Connection, deployment: Any, args: argparse.Namespace, verb: str) -> Any:
    checks.named_deployment(deployment)
    poller = conn.client.batch_deployments.begin_create_or_update(deployment)
    if args.no_wait:
        show = f"batch-deployment show -e {deployment.endpoint_name} -n {deployment.name}"
        checks.initiated("Batch deployment", verb, show)
        return None
    result = poller.result()
    if getattr(args, "set_default", False):
        endpoints = conn.client.batch_endpoints
        endpoint = endpoints.get(deployment.endpoint_name)
        endpoint.defaults.deployment_name = result.name
        endpoints.begin_create_or_update(endpoint).result()
    return entity_dict(result)
