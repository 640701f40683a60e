"""The parsers of ``amlemu ml``'s batch-side groups: ``compute``, ``data``, ``batch-endpoint``,
``batch-deployment`` and ``job``, with ``az ml``'s (2.x) verbs and flags for them.

:mod:`emulator.cli.ml_cmd` registers them beside the online groups and passes the function that
adds a verb with the common flags (``-g``, ``-w``, ``--subscription``, ``-o``, ``--query``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from emulator.cli.ml import (
    batch_deployment_verbs,
    batch_endpoint_verbs,
    compute_verbs,
    data_verbs,
    flags,
    job_verbs,
)

#: The input types ``az ml batch-endpoint invoke --input-type`` takes.
INPUT_TYPES = ("uri_folder", "uri_file")
DATA_TYPES = ("uri_file", "uri_folder", "mltable")


def add_groups(groups: Any, adder: Callable[[Any], flags.VerbAdder]) -> None:
    """Add the batch-side groups to ``amlemu ml``'s ``groups``; ``adder(verbs)`` adds verbs."""
    _compute(_group(groups, "compute", "manage AmlCompute clusters"), adder)
    _data(_group(groups, "data", "manage data assets"), adder)
    _batch_endpoint(_group(groups, "batch-endpoint", "manage batch endpoints"), adder)
    _batch_deployment(_group(groups, "batch-deployment", "manage batch deployments"), adder)
    _job(_group(groups, "job", "manage the jobs batch endpoints run"), adder)


def _group(groups: Any, name: str, help_text: str) -> Any:
    verbs = groups.add_parser(name, help=help_text).add_subparsers(dest="ml_verb", metavar="VERB")
    verbs.required = True
    return verbs


def _compute(verbs: Any, adder: Callable[[Any], flags.VerbAdder]) -> None:
    add = adder(verbs)
    create = add("create", compute_verbs.create, "create a compute from YAML or flags")
    flags.file(create, required=False)
    flags.name(create, required=False)
    create.add_argument("--type", "-t", help="the compute's type, e.g. amlcompute")
    create.add_argument("--size", help="the VM size, e.g. Standard_DS3_v2")
    create.add_argument(
        "--min-instances", type=flags.count("--min-instances"), help="minimum nodes"
    )
    create.add_argument(
        "--max-instances", type=flags.count("--max-instances"), help="maximum nodes"
    )
    flags.set_(create)
    flags.no_wait(create)
    flags.name(add("show", compute_verbs.show, "show a compute"))
    listing = add("list", compute_verbs.list_, "list the workspace's computes")
    listing.add_argument("--type", "-t", help="only computes of this type, e.g. amlcompute")
    _max_results(listing, default=None)
    delete = add("delete", compute_verbs.delete, "delete a compute")
    flags.name(delete)
    flags.yes(delete)
    flags.no_wait(delete)


def _data(verbs: Any, adder: Callable[[Any], flags.VerbAdder]) -> None:
    add = adder(verbs)
    create = add("create", data_verbs.create, "create a data asset from YAML or flags")
    flags.file(create, required=False)
    flags.name(create, required=False)
    create.add_argument("--version", "-v", help="the version (default: the next one)")
    create.add_argument("--path", "-p", help="a local file or folder, or a datastore/https URI")
    create.add_argument("--type", "-t", choices=DATA_TYPES, help="the data's type")
    create.add_argument("--description", "-d", help="a description")
    flags.set_(create)
    show = add("show", data_verbs.show, "show a version of a data asset")
    _versioned(show)
    listing = add("list", data_verbs.list_, "list data assets, or one asset's versions")
    listing.add_argument("--name", "-n", help="list this asset's versions")
    flags.archived(listing)
    _max_results(listing, default=None)
    _versioned(add("archive", data_verbs.archive, "archive a data asset or one version"))
    _versioned(add("restore", data_verbs.restore, "restore an archived data asset or version"))


def _batch_endpoint(verbs: Any, adder: Callable[[Any], flags.VerbAdder]) -> None:
    add = adder(verbs)
    for verb, handler, help_text in (
        ("create", batch_endpoint_verbs.create, "create a batch endpoint from a YAML file"),
        ("update", batch_endpoint_verbs.update, "update a batch endpoint (YAML or --set)"),
    ):
        parser = add(verb, handler, help_text)
        flags.file(parser, required=False)
        flags.name(parser, required=False)
        flags.set_(parser)
        flags.no_wait(parser)
    flags.name(add("show", batch_endpoint_verbs.show, "show a batch endpoint"))
    add("list", batch_endpoint_verbs.list_, "list the workspace's batch endpoints")
    delete = add("delete", batch_endpoint_verbs.delete, "delete a batch endpoint")
    flags.name(delete)
    flags.yes(delete)
    flags.no_wait(delete)
    flags.name(add("list-jobs", batch_endpoint_verbs.list_jobs, "list a batch endpoint's jobs"))
    invoke = add("invoke", batch_endpoint_verbs.invoke, "start a batch job on an endpoint")
    flags.name(invoke)
    invoke.add_argument(
        "--deployment-name", "-d", help="run this deployment, not the endpoint's default"
    )
    invoke.add_argument(
        "--input", help="a local path, azureml:NAME@latest, a datastore path or an https URL"
    )
    invoke.add_argument("--input-type", choices=INPUT_TYPES, help="the input's type")
    invoke.add_argument(
        "--file", "-f", help="a YAML file with the job's named inputs: and outputs:"
    )
    invoke.add_argument("--job-name", help="the job's name (default: one made up)")
    invoke.add_argument("--experiment-name", help="the experiment the job is filed under")
    invoke.add_argument(
        "--mini-batch-size",
        type=flags.positive("--mini-batch-size"),
        help="files per mini-batch (default: the deployment's)",
    )
    invoke.add_argument(
        "--instance-count",
        type=flags.positive("--instance-count"),
        help="instances to run the job on (default: the deployment's)",
    )
    invoke.add_argument(
        "--output-path",
        help="where the output goes: azureml://datastores/<datastore>/paths/<path>",
    )
    flags.set_(invoke)


def _batch_deployment(verbs: Any, adder: Callable[[Any], flags.VerbAdder]) -> None:
    add = adder(verbs)
    create = add("create", batch_deployment_verbs.create, "create a batch deployment (YAML)")
    flags.file(create, required=True)
    update = add("update", batch_deployment_verbs.update, "update a batch deployment")
    flags.file(update, required=False)
    for parser in (create, update):
        flags.name(parser, required=False)
        flags.endpoint(parser, required=False)
        flags.set_(parser)
        flags.no_wait(parser)
    create.add_argument(
        "--set-default", action="store_true", help="then make it the endpoint's default"
    )
    show = add("show", batch_deployment_verbs.show, "show a batch deployment")
    flags.name(show)
    flags.endpoint(show)
    flags.endpoint(add("list", batch_deployment_verbs.list_, "list an endpoint's deployments"))
    delete = add("delete", batch_deployment_verbs.delete, "delete a batch deployment")
    flags.name(delete)
    flags.endpoint(delete)
    flags.yes(delete)
    flags.no_wait(delete)


def _job(verbs: Any, adder: Callable[[Any], flags.VerbAdder]) -> None:
    add = adder(verbs)
    flags.name(add("show", job_verbs.show, "show a job"))
    listing = add("list", job_verbs.list_, "list jobs, or a job's steps")
    listing.add_argument("--parent-job-name", "-p", help="list this job's child jobs")
    flags.archived(listing)
    _max_results(listing, default=50)
    listing.add_argument(
        "--all-results", action="store_true", help="list every job (no --max-results)"
    )
    flags.name(add("stream", job_verbs.stream, "print a job's log as it is written"))
    download = add("download", job_verbs.download, "download a job's outputs")
    flags.name(download)
    download.add_argument(
        "--download-path", "-p", default=".", help="where to write them (default: .)"
    )
    download.add_argument("--output-name", help="this output only, e.g. score")
    download.add_argument("--all", action="store_true", help="every output and the logs")
    flags.name(add("cancel", job_verbs.cancel, "cancel a job"))


def _versioned(parser: argparse.ArgumentParser) -> None:
    flags.name(parser)
    parser.add_argument("--version", "-v", help="the version")
    parser.add_argument("--label", "-l", help="a label, e.g. latest (instead of --version)")


def _max_results(parser: argparse.ArgumentParser, *, default: int | None) -> None:
    suffix = f" (default: {default})" if default else ""
    parser.add_argument(
        "--max-results",
        "-r",
        type=flags.positive("--max-results"),
        default=default,
        help=f"list at most this many{suffix}",
    )
