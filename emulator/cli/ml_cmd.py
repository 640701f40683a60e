"""``amlemu ml``: ``az ml online-endpoint`` / ``online-deployment`` against the emulator.

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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emulator.cli.ml import deployment_verbs, endpoint_verbs
from emulator.cli.ml.connection import connect, import_sdk
from emulator.cli.ml.output import FORMATS, compile_query, render
from emulator.cli.ml.specs import set_pair, traffic_rules, yaml_file
from emulator.cli.ml.workspace import resolve_workspace
from emulator.exceptions import EmulatorError
from emulator.store.root import EmulatorRoot

Verb = Callable[[Any, argparse.Namespace], Any]

FAILED, USAGE, NOT_FOUND = 1, 2, 3


def add_parser(commands: Any) -> None:
    ml = commands.add_parser(
        "ml",
        help="az ml's online-endpoint/online-deployment verbs, run against the emulator",
        description="az ml's verbs and flags on the same YAML files, run by the real "
        "azure-ai-ml against the emulator: the root's daemon (`amlemu up`), else a server of "
        "the command's own whose deployments stop when it returns. The workspace: -g/-w/"
        "--subscription, else config.json (`amlemu env --write-config`), else the root's only one.",
    )
    groups = ml.add_subparsers(dest="ml_group", metavar="GROUP")
    groups.required = True
    common = _common_options()
    _endpoint_verbs(groups.add_parser("online-endpoint", help="manage online endpoints"), common)
    _deployment_verbs(
        groups.add_parser("online-deployment", help="manage online deployments"), common
    )


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
    _file(create, required=False)
    _name(create, required=False)
    _set(create)
    _no_wait(create)
    _local(create)
    update = add("update", endpoint_verbs.update, "update an endpoint (YAML, --set, --traffic)")
    _file(update, required=False)
    _name(update, required=False)
    _set(update)
    update.add_argument(
        "--traffic", type=traffic_rules, help='traffic by deployment, e.g. "blue=90 green=10"'
    )
    update.add_argument(
        "--mirror-traffic", type=traffic_rules, help='mirrored traffic, e.g. "green=10"'
    )
    _no_wait(update)
    _local(update)
    show = add("show", endpoint_verbs.show, "show an endpoint")
    _name(show)
    _local(show)
    _local(add("list", endpoint_verbs.list_, "list the workspace's endpoints"))
    delete = add("delete", endpoint_verbs.delete, "delete an endpoint and its deployments")
    _name(delete)
    _yes(delete)
    _no_wait(delete)
    _local(delete)
    invoke = add("invoke", endpoint_verbs.invoke, "score a request on an endpoint")
    _name(invoke)
    _local(invoke)
    invoke.add_argument("--request-file", "-r", required=True, help="JSON request body")
    invoke.add_argument("--deployment-name", "-d", help="send to this deployment, not by traffic")
    credentials = add("get-credentials", endpoint_verbs.get_credentials, "keys or token")
    _name(credentials)


def _deployment_verbs(group: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    verbs = group.add_subparsers(dest="ml_verb", metavar="VERB")
    verbs.required = True
    add = _verb_adder(verbs, common)
    create = add("create", deployment_verbs.create, "create a deployment from a YAML file")
    _file(create, required=True)
    _name(create, required=False)
    _endpoint(create, required=False)
    _set(create)
    create.add_argument(
        "--all-traffic", action="store_true", help="then give it all of the endpoint's traffic"
    )
    _skip_validation(create)
    _no_wait(create)
    _local(create)
    update = add("update", deployment_verbs.update, "update a deployment (YAML or --set)")
    _file(update, required=False)
    _name(update, required=False)
    _endpoint(update, required=False)
    _set(update)
    _skip_validation(update)
    _no_wait(update)
    _local(update)
    show = add("show", deployment_verbs.show, "show a deployment")
    _name(show)
    _endpoint(show)
    _local(show)
    listing = add("list", deployment_verbs.list_, "list an endpoint's deployments")
    _endpoint(listing)
    _local(listing)
    delete = add("delete", deployment_verbs.delete, "delete a deployment")
    _name(delete)
    _endpoint(delete)
    _yes(delete)
    _no_wait(delete)
    _local(delete)
    logs = add("get-logs", deployment_verbs.get_logs, "a deployment's container log")
    _name(logs)
    _endpoint(logs)
    _local(logs)
    logs.add_argument("--lines", "-l", type=_lines, help="maximum number of lines to tail")
    logs.add_argument(
        "--container-type",
        choices=("inference-server", "storage-initializer"),
        help="the container whose log to read (default: the inference server's)",
    )


def _verb_adder(verbs: Any, common: argparse.ArgumentParser) -> Callable[..., Any]:
    def add(name: str, verb: Verb, help_text: str) -> argparse.ArgumentParser:
        parser = verbs.add_parser(name, parents=[common], help=help_text)
        parser.set_defaults(handler=lambda args: run_verb(verb, args))
        return parser

    return add


def _file(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--file", "-f", required=required, help="the YAML specification")


def _name(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--name", "-n", required=required, help="name (overrides the YAML's)")


def _endpoint(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--endpoint-name", "-e", required=required, help="the endpoint's name")


def _set(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        type=set_pair,
        action="append",
        metavar="KEY=VALUE",
        help="override a field of the YAML (dotted keys for nested fields); repeatable",
    )


def _no_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-wait", action="store_true", help="do not wait for the operation")


def _local(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--local",
        action="store_true",
        help="the SDK's local mode (local=True), on the emulator's Docker API",
    )


def _yes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", "-y", action="store_true", help="do not prompt for confirmation")


def _skip_validation(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--skip-script-validation",
        action="store_true",
        help="skip the SDK's check of the scoring script",
    )


def _lines(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"invalid --lines {value!r}: give a positive number")
    return int(value)


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
        # visible while stdout holds the result alone, for `X=$(amlemu ml ... -o tsv)`.
        with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
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
