"""``amlemu ml``: ``az ml``'s online and batch groups against the emulator (``online-endpoint``,
``online-deployment``, ``compute``, ``data``, ``batch-endpoint``, ``batch-deployment``, ``job``).

CI scripts written for ``az ml`` run by swapping the command: the same verbs, flags
(``--file/-f``, ``--name/-n``, ``--endpoint-name/-e``, ``--set``, ``-g``, ``-w``,
``--subscription``, ``-o``, ``--query``), output shapes and ``ERROR: ...`` messages; exit codes
as ``az``'s: 0 done, 1 failed, 2 bad usage, 3 not found. The verbs are
:mod:`emulator.cli.ml`'s, run by the real ``azure-ai-ml`` (:mod:`emulator.cli.ml.connection`).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from pathlib import Path
from typing import Any

from emulator.cli.ml import batch_cli, deployment_verbs, endpoint_verbs, flags, job_verbs
from emulator.cli.ml.connection import connect, import_sdk
from emulator.cli.ml.flags import Verb, VerbAdder
from emulator.cli.ml.output import FORMATS, compile_query, render
from emulator.cli.ml.specs import traffic_rules, yaml_file
from emulator.cli.ml.workspace import resolve_workspace
from emulator.exceptions import EmulatorError
from emulator.store.root import EmulatorRoot

FAILED, USAGE, NOT_FOUND = 1, 2, 3

#: Verbs whose output is what the SDK prints while they run, not a result.
_PRINTS_TO_STDOUT: frozenset[Verb] = frozenset({job_verbs.stream})


def add_parser(commands: Any) -> None:
    ml = commands.add_parser(
        "ml",
        help="az ml's online and batch verbs, run against the emulator",
        description="az ml's verbs and flags on the same YAML files, run by the real "
        "azure-ai-ml against the emulator: the root's daemon (`amlemu up`), else a server of "
        "the command's own whose deployments stop when it returns (a batch-endpoint invoke then "
        "waits for its job). The workspace: -g/-w/"
        "--subscription, else config.json (`amlemu env --write-config`), else the root's only one.",
    )
    groups = ml.add_subparsers(dest="ml_group", metavar="GROUP")
    groups.required = True
    common = _common_options()
    _endpoint_verbs(groups.add_parser("online-endpoint", help="manage online endpoints"), common)
    _deployment_verbs(
        groups.add_parser("online-deployment", help="manage online deployments"), common
    )
    batch_cli.add_groups(groups, lambda verbs: _verb_adder(verbs, common))


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--resource-group", "-g", dest="resource_group", metavar="GROUP", help="resource group"
    )
    common.add_argument(
        "--workspace-name", "-w", dest="workspace_name", metavar="NAME", help="workspace name"
    )
    common.add_argument("--subscription", metavar="ID", help="subscription id")
    common.add_argument(
        "--output",
        "-o",
        choices=FORMATS,
        default="json",
        metavar="FORMAT",
        help=f"output format: {', '.join(FORMATS)} (default: json)",
    )
    common.add_argument("--query", metavar="JMESPATH", help="JMESPath query applied to the output")
    return common


def _endpoint_verbs(group: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    verbs = group.add_subparsers(dest="ml_verb", metavar="VERB")
    verbs.required = True
    add = _verb_adder(verbs, common)
    create = add("create", endpoint_verbs.create, "create an endpoint from a YAML file")
    flags.file(create, required=False)
    flags.name(create, required=False)
    flags.set_(create)
    flags.no_wait(create)
    flags.local(create)
    update = add("update", endpoint_verbs.update, "update an endpoint (YAML, --set, --traffic)")
    flags.file(update, required=False)
    flags.name(update, required=False)
    flags.set_(update)
    update.add_argument(
        "--traffic", type=traffic_rules, help='traffic by deployment, e.g. "blue=90 green=10"'
    )
    update.add_argument(
        "--mirror-traffic", type=traffic_rules, help='mirrored traffic, e.g. "green=10"'
    )
    flags.no_wait(update)
    flags.local(update)
    show = add("show", endpoint_verbs.show, "show an endpoint")
    flags.name(show)
    flags.local(show)
    flags.local(add("list", endpoint_verbs.list_, "list the workspace's endpoints"))
    delete = add("delete", endpoint_verbs.delete, "delete an endpoint and its deployments")
    flags.name(delete)
    flags.yes(delete)
    flags.no_wait(delete)
    flags.local(delete)
    invoke = add("invoke", endpoint_verbs.invoke, "score a request on an endpoint")
    flags.name(invoke)
    flags.local(invoke)
    invoke.add_argument("--request-file", "-r", required=True, help="JSON request body")
    invoke.add_argument("--deployment-name", "-d", help="send to this deployment, not by traffic")
    credentials = add("get-credentials", endpoint_verbs.get_credentials, "keys or token")
    flags.name(credentials)


def _deployment_verbs(group: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    verbs = group.add_subparsers(dest="ml_verb", metavar="VERB")
    verbs.required = True
    add = _verb_adder(verbs, common)
    create = add("create", deployment_verbs.create, "create a deployment from a YAML file")
    flags.file(create, required=True)
    flags.name(create, required=False)
    flags.endpoint(create, required=False)
    flags.set_(create)
    create.add_argument(
        "--all-traffic", action="store_true", help="then give it all of the endpoint's traffic"
    )
    flags.skip_validation(create)
    flags.no_wait(create)
    flags.local(create)
    update = add("update", deployment_verbs.update, "update a deployment (YAML or --set)")
    flags.file(update, required=False)
    flags.name(update, required=False)
    flags.endpoint(update, required=False)
    flags.set_(update)
    flags.skip_validation(update)
    flags.no_wait(update)
    flags.local(update)
    show = add("show", deployment_verbs.show, "show a deployment")
    flags.name(show)
    flags.endpoint(show)
    flags.local(show)
    listing = add("list", deployment_verbs.list_, "list an endpoint's deployments")
    flags.endpoint(listing)
    flags.local(listing)
    delete = add("delete", deployment_verbs.delete, "delete a deployment")
    flags.name(delete)
    flags.endpoint(delete)
    flags.yes(delete)
    flags.no_wait(delete)
    flags.local(delete)
    logs = add("get-logs", deployment_verbs.get_logs, "a deployment's container log")
    flags.name(logs)
    flags.endpoint(logs)
    flags.local(logs)
    logs.add_argument(
        "--lines", "-l", type=flags.positive("--lines"), help="maximum number of lines to tail"
    )
    logs.add_argument(
        "--container-type",
        choices=("inference-server", "storage-initializer"),
        help="the container whose log to read (default: the inference server's)",
    )


def _verb_adder(verbs: Any, common: argparse.ArgumentParser) -> VerbAdder:
    def add(name: str, verb: Verb, help_text: str) -> argparse.ArgumentParser:
        parser = verbs.add_parser(name, parents=[common], help=help_text)
        parser.set_defaults(handler=lambda args: run_verb(verb, args))
        return parser

    return add


def run_verb(verb: Verb, args: argparse.Namespace) -> int:
    """Run one verb with the SDK's client; print its result as ``-o`` says, or az's ``ERROR``."""
    try:
        query = compile_query(args.query)
        sdk = import_sdk()
        if getattr(args, "file", None) is not None:
            args.file = yaml_file(args.file)
        root = EmulatorRoot.current()
        workspace = resolve_workspace(
            root, args.subscription, args.resource_group, args.workspace_name, Path.cwd()
        )
        # The SDK prints its progress (polling dots, upload bars) to stdout; on stderr it stays
        # visible while stdout holds the result alone, for `X=$(amlemu ml ... -o tsv)`. What
        # `job stream` prints is the SDK's own: the job's log, which is the command's output.
        quiet = verb not in _PRINTS_TO_STDOUT
        progress = contextlib.redirect_stdout(sys.stderr) if quiet else contextlib.nullcontext()
        with warnings.catch_warnings(), progress:
            warnings.simplefilter("ignore")  # the SDK's experimental-class and marshmallow noise
            with connect(root, workspace, sdk) as connection:
                result = verb(connection, args)
        sys.stdout.write(render(query(result), args.output, queried=bool(args.query)))
        return 0
    except EmulatorError as exc:
        return _error(str(exc), NOT_FOUND if exc.status == 404 else FAILED)
    except Exception as exc:
        code = _sdk_failure(exc)
        if code is None:
            raise
        return _error(str(exc), code)


def _sdk_failure(exc: Exception) -> int | None:
    """The exit code for an error of the SDK or of the service, ``None`` for anything else."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError
    from marshmallow.exceptions import ValidationError

    if isinstance(exc, ResourceNotFoundError):
        return NOT_FOUND
    if isinstance(exc, (AzureError, ValidationError)):
        return FAILED
    return None


def _error(message: str, code: int) -> int:
    print(f"ERROR: {message.strip()}", file=sys.stderr)
    return code
