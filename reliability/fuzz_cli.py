"""The command line, fuzzed: argument lists built from ``amlemu``'s own vocabulary (every
command and option its parser knows) mixed with arbitrary text.

Property: parsing either succeeds or exits with argparse's usage error (2) or ``--help``/
``--version`` (0), never anything else; and running the ``models`` and ``faults`` commands that
parse (in a scratch root with one workspace) exits 0, 1 or 2 with a message, never a traceback.
Distinct argument lists (by the SHA-256 of their JSON), and those refused (usage error, or a
command that ran and failed with its message), are counted for the runner's summary.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.cli.main import build_parser, main
from emulator.settings import ROOT_ENV

#: Commands run for real (others may block: ``serve``, ``demo``, ``logs --follow``, ``run``).
RUNNABLE = ("models", "faults")


def commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], list[str]]]:
    """Every command path (``("faults", "inject")``) with the words its parser knows: option
    strings and the choices of its arguments."""
    words: list[str] = []
    found: list[tuple[tuple[str, ...], list[str]]] = []
    for action in parser._actions:
        words += action.option_strings
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += commands(sub, (*prefix, name))
        elif action.choices:
            words += [str(choice) for choice in action.choices]
    return [(prefix, sorted(set(words))), *found]


@contextlib.contextmanager
def _scratch_root() -> Iterator[None]:
    saved = os.environ.get(ROOT_ENV)
    with tempfile.TemporaryDirectory() as root:
        os.environ[ROOT_ENV] = root
        from emulator import Workspace

        Workspace.create("fuzz", subscription_id="sub", resource_group="rg", show_output=False)
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop(ROOT_ENV, None)
            else:
                os.environ[ROOT_ENV] = saved


def fuzz_cli(examples: int) -> dict[str, Any]:
    # One parser for every case: parse_args keeps no state between calls, and building the
    # parser (73 commands, argparse's gettext look-ups for each) costs about 85 ms, most of
    # a case's time. Commands that parse still run through main(), which builds its own.
    parser = build_parser()
    paths = commands(parser)
    words = sorted({word for path, known in paths for word in (*path, *known)})
    text = st.text(
        alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
        max_size=12,
    )
    numbers = st.integers(-5, 600).map(str) | st.floats(allow_nan=True).map(str)
    plausible = st.sampled_from(["steady", "@workspace", "fuzz", "f1", "model:1", "../x", "-"])
    # Half anything at all, half a real command followed by its own options and values.
    argvs = st.lists(st.sampled_from(words) | text, max_size=7) | st.sampled_from(paths).flatmap(
        lambda command: st.lists(
            st.sampled_from(command[1] or ["--help"]) | plausible | text | numbers, max_size=6
        ).map(lambda rest: [*command[0], *rest])
    )
    outcomes: Counter[str] = Counter()
    cases = 0
    distinct: set[bytes] = set()
    refused: set[bytes] = set()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(argvs)
    def property_holds(argv: list[str]) -> None:
        nonlocal cases
        cases += 1
        key = hashlib.sha256(json.dumps(argv).encode()).digest()
        distinct.add(key)
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            try:
                args = parser.parse_args(argv)
            except SystemExit as exit_:
                assert exit_.code in (0, 2), f"parse {argv!r} exited {exit_.code}"
                outcomes[f"parse exit {exit_.code}"] += 1
                if exit_.code == 2:
                    refused.add(key)
                return
            outcomes["parsed"] += 1
            if args.command not in RUNNABLE or "--root" in argv:
                return
            try:
                code = main(argv)
            except SystemExit as exit_:  # argparse inside main, or --help
                code = exit_.code if isinstance(exit_.code, int) else 1
        assert code in (0, 1, 2), f"run {argv!r} exited {code}"
        assert "Traceback" not in sink.getvalue(), sink.getvalue()
        outcomes[f"run exit {code}"] += 1
        if code != 0:
            refused.add(key)

    crash = None
    with _scratch_root():
        try:
            property_holds()
        except Exception as exc:  # the shrunk counterexample (a traceback escaped, or exit 3)
            crash = f"{type(exc).__name__}: {str(exc)[:300]}"
    return {
        "cases": cases,
        "distinct": len(distinct),
        "distinct_refused": len(refused),
        "commands": len(paths),
        "vocabulary": len(words),
        "outcomes": dict(sorted(outcomes.items())),
        "counterexample": crash,
        "crashes": int(crash is not None),
        "ok": crash is None,
    }
