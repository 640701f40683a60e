"""``amlemu ml batch-endpoint create|update|show|list|delete|invoke|list-jobs``: ``az ml``'s.

``invoke`` builds what ``az ml`` builds from its flags and hands it to the SDK's
``batch_endpoints.invoke``: ``--input`` (a local path, uploaded by the SDK, a datastore path, a
data asset ``azureml:NAME@latest`` / ``azureml:NAME:VERSION``, or a served ``https://`` URL) as
``Input(type=--input-type, path=...)``, or ``--file inputs.yml`` with the job's named inputs
and outputs (:mod:`~emulator.cli.ml.invoke_file`); ``--mini-batch-size``, ``--instance-count`` and
``--output-path azureml://datastores/<datastore>/paths/<path>`` as the SDK's batch-job
``params_override`` keys (``mini_batch_size``, ``compute.instance_count``,
``output_dataset.datastore_id`` (the datastore's ARM id) / ``output_dataset.path``, the
constants azure-ai-ml keeps for the CLI), then ``--set`` (``--set output_file_name=scores.csv``).
It prints the job the SDK returns (its ``id``, ``name``, ``type``, ``status``), so
``JOB=$(amlemu ml batch-endpoint invoke ... --query name -o tsv)`` works as with ``az``. Without
``amlemu up`` the job runs in this command's own server, so the command waits for it to end.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from emulator.cli.ml import checks
from emulator.cli.ml.connection import Connection
from emulator.cli.ml.endpoint_verbs import confirm, overrides
from emulator.cli.ml.invoke_file import read_job_ports
from emulator.cli.ml.specs import entity_dict, load_spec
from emulator.exceptions import InvalidSetting

#: ``--output-path``: a folder on a datastore, as az ml documents it.
_OUTPUT_PATH = re.compile(r"^azureml://datastores/(?P<datastore>[^/]+)/paths/(?P<path>.+)$")
#: The statuses after which a job changes no more (Azure's JobStatus words).
_ENDED = ("Completed", "Failed", "Canceled")
#: How often a command with no daemon looks at its job while it runs.
_POLL_SECONDS = 0.5


def create(conn: Connection, args: argparse.Namespace) -> Any:
    endpoint = load_spec(conn.sdk.ml.load_batch_endpoint, args.file, overrides(args))
    checks.named_endpoint(endpoint)
    return _submit(conn, endpoint, args, "create")


def update(conn: Connection, args: argparse.Namespace) -> Any:
    """The YAML, or without one what exists (its dump) with ``--set`` over it."""
    checks.endpoint_to_update(args)
    current = None if args.file else conn.client.batch_endpoints.get(args.name)
    endpoint = load_spec(conn.sdk.ml.load_batch_endpoint, args.file, overrides(args), current)
    return _submit(conn, endpoint, args, "update")


def show(conn: Connection, args: argparse.Namespace) -> Any:
    return entity_dict(conn.client.batch_endpoints.get(args.name))


def list_(conn: Connection, args: argparse.Namespace) -> Any:
    return [entity_dict(endpoint) for endpoint in conn.client.batch_endpoints.list()]


def delete(conn: Connection, args: argparse.Namespace) -> Any:
    confirm(args.yes)
    poller = conn.client.batch_endpoints.begin_delete(name=args.name)
    if not args.no_wait:
        poller.result()
    return None


def list_jobs(conn: Connection, args: argparse.Namespace) -> Any:
    return [job._to_dict() for job in conn.client.batch_endpoints.list_jobs(args.name)]


def invoke(conn: Connection, args: argparse.Namespace) -> Any:
    if args.input_type and not args.input:
        raise InvalidSetting("--input-type applies to --input: give --input PATH as well.")
    if args.file is not None and args.input:
        raise InvalidSetting(
            "Give the job's input with --input or its inputs with --file/-f, not both."
        )
    extra: dict[str, Any] = {}
    if args.input:
        extra["input"] = conn.sdk.ml.Input(type=args.input_type or "uri_folder", path=args.input)
    if args.file is not None:
        ports = read_job_ports(args.file, conn.sdk.ml)
        extra.update({key: value for key, value in vars(ports).items() if value})
    if args.job_name:
        extra["job_name"] = args.job_name
    if args.experiment_name:
        extra["experiment_name"] = args.experiment_name
    job = conn.client.batch_endpoints.invoke(
        endpoint_name=args.name,
        deployment_name=args.deployment_name,
        params_override=invoke_overrides(args, _datastore_ids(conn)),
        **extra,
    )
    if not conn.daemon:
        _wait_for(conn, job.name)
    return job._to_dict()


def invoke_overrides(
    args: argparse.Namespace, datastore_id: Callable[[str], str]
) -> list[dict[str, Any]]:
    """az ml's invoke flags as the SDK's batch-job ``params_override``, then ``--set``.

    ``--output-path``'s datastore goes as its ARM id (``datastore_id(name)``): with an id the SDK
    sends ``outputDataset: {datastoreId, path}``, the output folder; with a bare name it would
    rewrite it as a v1 dataset output named ``output_name``, not the job's ``score``."""
    pairs: list[dict[str, Any]] = []
    if args.mini_batch_size is not None:
        pairs.append({"mini_batch_size": args.mini_batch_size})
    if args.instance_count is not None:
        pairs.append({"compute.instance_count": args.instance_count})
    if args.output_path is not None:
        where = _OUTPUT_PATH.match(args.output_path)
        if where is None:
            raise InvalidSetting(
                f"--output-path {args.output_path}: give a folder on a datastore as "
                "azureml://datastores/<datastore-name>/paths/<path>, e.g. "
                "azureml://datastores/workspaceblobstore/paths/batch-output."
            )
        pairs.append({"output_dataset.datastore_id": datastore_id(where["datastore"])})
        pairs.append({"output_dataset.path": where["path"]})
    return [*pairs, *(args.set or [])]


def _datastore_ids(conn: Connection) -> Callable[[str], str]:
    """A datastore's ARM id in the client's workspace, ``azureml:``-prefixed as the SDK's
    ``ArmStr`` fields take one."""
    client = conn.client
    workspace = (
        f"/subscriptions/{client.subscription_id}/resourceGroups/{client.resource_group_name}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{client.workspace_name}"
    )
    return lambda name: f"azureml:{workspace}/datastores/{name}"


def _submit(conn: Connection, endpoint: Any, args: argparse.Namespace, verb: str) -> Any:
    poller = conn.client.batch_endpoints.begin_create_or_update(endpoint)
    if args.no_wait:
        checks.initiated("Batch endpoint", verb, f"batch-endpoint show -n {endpoint.name}")
        return None
    return entity_dict(poller.result())


def _wait_for(conn: Connection, name: str) -> None:
    """Keep this command (and the server running the job) alive until the job ends."""
    print(
        f"amlemu: job {name} runs in this command's server; waiting for it to end.",
        file=sys.stderr,
    )
    while True:
        status = conn.client.jobs.get(name).status
        status = str(getattr(status, "value", status))
        if status in _ENDED:
            print(f"amlemu: job {name} ended {status}.", file=sys.stderr)
            return
        time.sleep(_POLL_SECONDS)
