"""``az ml``'s flags, added to ``amlemu ml``'s verb parsers with az's names, short forms and help.

The online and batch parser trees (:mod:`emulator.cli.ml_cmd`, :mod:`~emulator.cli.ml.batch_cli`)
share them, so one flag reads the same in every group, as it does in ``az ml``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from emulator.cli.ml.specs import set_pair
from emulator.exceptions import InvalidSetting

Verb = Callable[[Any, argparse.Namespace], Any]
#: Adds one verb's parser: (name, verb, help) → the parser, with the common flags and handler.
VerbAdder = Callable[[str, Verb, str], argparse.ArgumentParser]


def file(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--file", "-f", required=required, help="the YAML specification")


def name(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--name", "-n", required=required, help="name (overrides the YAML's)")


def endpoint(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--endpoint-name", "-e", required=required, help="the endpoint's name")


def set_(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        type=set_pair,
        action="append",
        metavar="KEY=VALUE",
        help="override a field of the YAML (dotted keys for nested fields); repeatable",
    )


def no_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-wait", action="store_true", help="do not wait for the operation")


def archived(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--include-archived", action="store_true", help="archived ones too")
    parser.add_argument("--archived-only", action="store_true", help="archived ones only")


def list_view(args: argparse.Namespace, view: Any) -> Any:
    """The SDK's ``ListViewType`` (``view``) that :func:`archived`'s flags ask for: active
    ones unless ``--archived-only`` or ``--include-archived``. Both together are refused with
    azure-ai-ml's text (its ``get_list_view_type``, which ``az ml`` calls), not read as one."""
    if args.archived_only and args.include_archived:
        raise InvalidSetting(
            "Cannot provide both archived-only and include-archived. Give --include-archived "
            "to list archived ones too, or --archived-only to list archived ones only."
        )
    if args.archived_only:
        return view.ARCHIVED_ONLY
    if args.include_archived:
        return view.ALL
    return view.ACTIVE_ONLY


def local(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--local",
        action="store_true",
        help="the SDK's local mode (local=True), on the emulator's Docker API",
    )


def yes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", "-y", action="store_true", help="do not prompt for confirmation")


def skip_validation(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--skip-script-validation",
        action="store_true",
        help="skip the SDK's check of the scoring script",
    )


def positive(flag: str) -> Callable[[str], int]:
    """An argparse type for a flag taking a count of 1 or more (a bad one exits 2, as az's)."""

    def parse(value: str) -> int:
        if not value.isdigit() or int(value) < 1:
            raise argparse.ArgumentTypeError(f"invalid {flag} {value!r}: give a positive number")
        return int(value)

    return parse


def count(flag: str) -> Callable[[str], int]:
    """An argparse type for a flag taking a count of 0 or more."""

    def parse(value: str) -> int:
        if not value.isdigit():
            raise argparse.ArgumentTypeError(
                f"invalid {flag} {value!r}: give a whole number, 0 or more"
            )
        return int(value)

    return parse
