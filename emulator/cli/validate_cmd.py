"""``amlemu validate``: check an entry script, its models and environment before deploying.

Exit codes differ from the other commands on purpose (CI gates on them): 0 no error-level
finding, 1 at least one, 2 validation could not run (bad arguments, missing files, an
environment that cannot be built).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from emulator.cli.workspace_arg import add_workspace_options, select_workspace
from emulator.errors import AzureMLException
from emulator.exceptions import EmulatorError
from emulator.validation.checks import CHECKS
from emulator.validation.limits import TARGETS
from emulator.validation.pipeline import DEFAULT_BUDGET_S, validate
from emulator.validation.report import Report
from emulator.validation.spec import build_target, load_spec, parse_model_arg
from emulator.validation.target import CannotValidate, Sample, ValidationTarget
from emulator.validation.v2_target import (
    WorkspaceAssets,
    check_endpoint,
    load_deployment,
    spec_deployment,
    validate_deployment,
)
from emulator.validation.v2_yaml import OnlineDeploymentFile

CANNOT_RUN = 2
_BUILDERS = {"auto": "auto", "local": "venv", "host": "host"}


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "validate",
        help="check a scoring script, its models and environment before deploying",
        description="Checks an entry script against its models, environment and deployment "
        "configuration, running init() and the samples in the declared environment. Exit "
        "code 0: no errors; 1: error-level findings; 2: could not validate.",
        epilog="checks: " + "; ".join(f"{c.id} {c.title}" for c in CHECKS.values()),
    )
    parser.add_argument("--spec", help="a deployment spec file (aml-deployment.yml)")
    parser.add_argument(
        "--deployment",
        metavar="FILE",
        help="an az ml online deployment YAML (blue-deployment.yml): its code, model, "
        "environment, instance_type, request_settings and probes",
    )
    parser.add_argument(
        "--endpoint",
        metavar="FILE",
        help="with --deployment: the endpoint YAML it is created on (name and kind must agree; "
        "a Kubernetes endpoint's compute defines its deployments' instance types)",
    )
    parser.add_argument("--entry-script", help="the scoring script (init() and run())")
    parser.add_argument("--source-directory", help="folder deployed with the script")
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME[:VERSION]=PATH",
        help="a model file or folder as it will be registered (repeatable)",
    )
    parser.add_argument(
        "--conda-file",
        help="the environment's conda YAML (or pip .txt); without it the script runs on this "
        "interpreter's packages",
    )
    parser.add_argument(
        "--sample",
        action="append",
        default=[],
        metavar="FILE",
        help="a request body that must be scored with 200 (repeatable)",
    )
    parser.add_argument(
        "--deploy-config", help="deployment configuration, JSON or YAML (az ml --dc or SDK keys)"
    )
    parser.add_argument("--target", choices=TARGETS, help="deployment target (default: aci)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--builder",
        choices=tuple(_BUILDERS),
        default="auto",
        help="environment: this interpreter when it satisfies the requirements (auto), always "
        "a cached virtualenv (local), or always this interpreter (host)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_BUDGET_S,
        help="seconds init() and the samples may take together (default %(default)g)",
    )
    add_workspace_options(parser)  # where --deployment's azureml:name:version assets are
    parser.set_defaults(handler=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    try:
        online = _spec_deployment(args.spec) if args.spec and not args.deployment else None
        if args.deployment or online is not None:
            report = _validate_deployment(args, online)
        else:
            if args.endpoint:
                raise CannotValidate("--endpoint goes with --deployment (a v2 deployment YAML).")
            target = _target(args)
            report = validate(target, mode=_BUILDERS[args.builder], budget_s=args.timeout)
    except (CannotValidate, AzureMLException, EmulatorError, OSError) as exc:
        print(f"amlemu validate: error: {exc}", file=sys.stderr)
        return CANNOT_RUN
    print(report.to_json() if args.format == "json" else report.to_text())
    return report.exit_code


def _spec_deployment(spec: str) -> OnlineDeploymentFile | None:
    """The v2 deployment a ``--spec`` file is or names (an unreadable file is left to the v1
    spec reader's messages)."""
    if not Path(spec).is_file():
        return None
    return spec_deployment(spec)


def _validate_deployment(
    args: argparse.Namespace, online: OnlineDeploymentFile | None = None
) -> Report:
    """``--deployment FILE [--endpoint FILE] [--sample FILE]...`` (or ``--spec`` of a v2
    deployment): the v2 deployment's checks."""
    if online is None:
        _refuse_with("--deployment", "the deployment file", ("--spec", args.spec), *_v1_flags(args))
        deployment = load_deployment(args.deployment)
    else:
        _refuse_with("--spec", "the spec", *_v1_flags(args))
        deployment = online
    compute = check_endpoint(args.endpoint, deployment) if args.endpoint else None

    def assets() -> WorkspaceAssets:
        state = select_workspace(args).emulator_state
        return WorkspaceAssets(state.root, state.id)

    return validate_deployment(
        deployment,
        samples=_samples(args),
        assets=assets,
        mode=_BUILDERS[args.builder],
        budget_s=args.timeout,
        compute=compute,
    )


def _v1_flags(args: argparse.Namespace) -> list[tuple[str, Any]]:
    return [
        ("--entry-script", args.entry_script),
        ("--source-directory", args.source_directory),
        ("--model", args.model),
        ("--conda-file", args.conda_file),
        ("--deploy-config", args.deploy_config),
        ("--target", args.target),
    ]


def _refuse_with(option: str, what: str, *flags: tuple[str, Any]) -> None:
    given = [flag for flag, value in flags if value]
    if given:
        raise CannotValidate(
            f"{option} describes the whole deployment; drop {', '.join(given)} or {what}."
        )


def _samples(args: argparse.Namespace) -> list[Sample]:
    return [
        Sample(_read_bytes(path, "Sample"), label=f"sample {Path(path).name}")
        for path in args.sample
    ]


def _target(args: argparse.Namespace) -> ValidationTarget:
    if args.spec:
        _refuse_with("--spec", "the spec", *_v1_flags(args), ("--sample", args.sample))
        return load_spec(args.spec)
    if not args.entry_script:
        raise CannotValidate(
            "Pass --entry-script SCRIPT (or --spec aml-deployment.yml), or --deployment "
            "blue-deployment.yml for an az ml online deployment."
        )
    samples = _samples(args)
    return build_target(
        entry_script=args.entry_script,
        source_directory=args.source_directory,
        models=[parse_model_arg(value) for value in args.model],
        environment=args.conda_file,
        target=args.target,
        deployment_config=_deploy_config(args.deploy_config),
        samples=samples,
    )


def _read_bytes(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CannotValidate(f"{what} {path} cannot be read: {exc.strerror}.") from None


def _deploy_config(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data = yaml.safe_load(_read_bytes(path, "Deployment configuration"))
    except yaml.YAMLError as exc:
        raise CannotValidate(
            f"Deployment configuration {path} is not JSON or YAML: {exc}"
        ) from None
    if not isinstance(data, dict):
        raise CannotValidate(f"Deployment configuration {path} must be a JSON object.")
    return data
