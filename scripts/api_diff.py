#!/usr/bin/env python3
"""How much of the real ``azureml-core``'s public surface the emulator's shim offers.

Users move scripts between Azure and the emulator unchanged, so what matters is whether a call
written against the real SDK works here: the member exists, it is called the same way (static
or on an instance), and every positional and keyword argument the SDK accepts is accepted with
the same name, position and default. This script measures exactly that, for every ``azureml.*``
module the shim provides (``emulator.shim.SHIMMED_MODULES``) and every public class found in
both the real module and the shim's:

    python scripts/api_diff.py                # coverage table + gaps
    python scripts/api_diff.py --json         # the same as one JSON document

The real SDK is installed once into a scratch virtualenv (``--venv``, default under
``~/.cache``) and introspected there by this same file run under that interpreter
(``--introspect``), so nothing of the real SDK is imported next to the emulator. It needs PyPI,
so it is not part of the test run; its comparison logic is (tests/sdk/test_api_diff.py).

Only the standard library is used: the file runs under the scratch interpreter as well.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its sibling, in either interpreter
from api_diff_behaviour import behaviour, test_reader
from api_diff_report import render

DEFAULT_SPEC = "azureml-core==1.61.*"
_STAMP = ".api_diff_spec"
_LITERALS = (type(None), bool, int, float, str)
_CALLABLE_KINDS = ("method", "staticmethod", "classmethod")


# -- introspection (runs in either interpreter) --------------------------------------------


def _literal(value: object) -> bool:
    """Whether a default can be compared by value across two interpreters (its repr)."""
    if isinstance(value, (tuple, list, frozenset)):
        return all(_literal(item) for item in value)
    return isinstance(value, _LITERALS)


def _params(function: Any, drop_first: bool) -> list[dict[str, Any]] | None:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # builtins without a signature: nothing to compare
        return None
    params = list(signature.parameters.values())
    if drop_first and params and params[0].kind is not inspect.Parameter.VAR_POSITIONAL:
        params = params[1:]
    described = []
    for param in params:
        has_default = param.default is not inspect.Parameter.empty
        literal = has_default and _literal(param.default)
        described.append(
            {
                "name": param.name,
                "kind": param.kind.name,
                "has_default": has_default,
                "default": repr(param.default) if literal else None,
            }
        )
    return described


def _instance_attributes(klass: type) -> list[str]:
    """Public ``self.<name> = ...`` assignments in the class's own functions: the attributes
    users read on its objects (set in ``__init__`` or by the factories that fill them)."""
    names: list[str] = []
    for raw in vars(klass).values():
        function = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
        if not inspect.isfunction(function):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        except (OSError, TypeError, SyntaxError):
            continue
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                targets = [node.target]
            names.extend(
                target.attr
                for target in targets
                if isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
                and not target.attr.startswith("_")
            )
    return names


def _own_classes(klass: type) -> list[type]:
    """The MRO without the standard library's classes (object, Exception, dict, Enum...)."""
    stdlib = getattr(sys, "stdlib_module_names", frozenset({"builtins", "abc", "enum"}))
    return [k for k in klass.__mro__ if k.__module__.split(".")[0] not in stdlib]


def _member(raw: object, klass: type, name: str) -> dict[str, Any]:
    if isinstance(raw, staticmethod):
        found = {"kind": "staticmethod", "params": _params(raw.__func__, drop_first=False)}
    elif isinstance(raw, classmethod):
        found = {"kind": "classmethod", "params": _params(raw.__func__, drop_first=True)}
    elif isinstance(raw, property):
        found = {"kind": "property", "params": None}
    elif inspect.isfunction(raw):
        found = {"kind": "method", "params": _params(raw, drop_first=True)}
    else:
        return {"kind": "attribute", "params": None}
    return {**found, **behaviour(raw)}


def describe_class(klass: type) -> dict[str, Any]:
    """Public members of ``klass`` (inherited ones included) and its constructor."""
    members: dict[str, dict[str, Any]] = {}
    for owner in _own_classes(klass):
        for name, raw in vars(owner).items():
            if (name == "__init__" or not name.startswith("_")) and name not in members:
                members[name] = {**_member(raw, owner, name), "owner": owner.__name__}
    for owner in _own_classes(klass):
        for name in _instance_attributes(owner):
            members.setdefault(name, {"kind": "attribute", "params": None, "owner": owner.__name__})
    if any("__new__" in vars(owner) for owner in _own_classes(klass)) and "__init__" in members:
        members["__init__"].pop("placeholder", None)  # ``__new__`` makes the object
    return {
        "origin": f"{klass.__module__}.{klass.__qualname__}",
        "members": members,
        "bases": [k.__name__ for k in _own_classes(klass)[1:]],
    }


def describe_modules(modules: list[str], roots: tuple[str, ...]) -> dict[str, Any]:
    """Every public class of each module that is defined under one of ``roots``."""
    import importlib

    described: dict[str, Any] = {}
    for name in modules:
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # the real SDK may lack a module the shim has (other packages)
            described[name] = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
            continue
        public = getattr(module, "__all__", None) or [n for n in dir(module) if n[:1] != "_"]
        classes = {}
        for attr in sorted(public):
            value = getattr(module, attr, None)
            if inspect.isclass(value) and value.__module__.split(".")[0] in roots:
                classes[attr] = describe_class(value)
        described[name] = {"classes": classes}
    return described


# -- comparison ----------------------------------------------------------------------------


def _param_problems(real: list[dict[str, Any]], ours: list[dict[str, Any]]) -> list[str]:
    """Why a call accepted by the real signature could fail on ours (empty: none)."""
    problems = []
    positional = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")
    ours_by_name = {p["name"]: p for p in ours}
    our_positional = [p for p in ours if p["kind"] in positional]
    var_positional = any(p["kind"] == "VAR_POSITIONAL" for p in ours)
    var_keyword = any(p["kind"] == "VAR_KEYWORD" for p in ours)
    real_positional = [p for p in real if p["kind"] in positional]
    for index, param in enumerate(real_positional):
        if index >= len(our_positional):
            if not var_positional:
                problems.append(f"takes no positional argument {index + 1} ({param['name']})")
        elif our_positional[index]["name"] != param["name"]:
            problems.append(
                f"positional argument {index + 1} is {our_positional[index]['name']!r} "
                f"here, {param['name']!r} in the SDK"
            )
    for param in real:
        if param["kind"] in ("VAR_POSITIONAL", "VAR_KEYWORD"):
            if not any(p["kind"] == param["kind"] for p in ours):
                extra = "*args" if param["kind"] == "VAR_POSITIONAL" else "**kwargs"
                problems.append(f"takes no {extra} (the SDK does)")
            continue
        mine = ours_by_name.get(param["name"])
        if mine is None:
            if param["kind"] != "POSITIONAL_ONLY" and not var_keyword:
                problems.append(f"no parameter {param['name']!r}")
            continue
        if param["has_default"] and not mine["has_default"]:
            problems.append(f"{param['name']!r} is required here, optional in the SDK")
        elif (
            param["has_default"]
            and param["default"] is not None
            and mine["default"] is not None
            and param["default"] != mine["default"]
        ):
            problems.append(
                f"default of {param['name']!r} is {mine['default']} here, "
                f"{param['default']} in the SDK"
            )
    real_names = {p["name"] for p in real}
    for param in ours:
        required = not param["has_default"] and param["kind"] not in (
            "VAR_POSITIONAL",
            "VAR_KEYWORD",
        )
        if required and param["name"] not in real_names:
            problems.append(f"{param['name']!r} is required here; the SDK has no such parameter")
    return problems


def member_problems(real: dict[str, Any], ours: dict[str, Any] | None) -> list[str]:
    """Why ``ours`` cannot stand in for the real member (``["missing"]`` when absent)."""
    if ours is None:
        return ["missing"]
    if "not_emulated" in ours:
        return [f"not emulated: {ours['not_emulated']}"]
    if not {"refuses", "placeholder"} & set(real):  # doing nothing as the SDK does is fine
        if "refuses" in ours:
            return [f"not emulated: always raises {ours['refuses']}"]
        if "placeholder" in ours:
            return [f"not emulated: a placeholder ({ours['placeholder']})"]
    if real["kind"] not in _CALLABLE_KINDS:
        if ours["kind"] in _CALLABLE_KINDS and real["kind"] == "property":
            return ["a method here, a property in the SDK"]
        return []
    if ours["kind"] not in _CALLABLE_KINDS:
        return [f"a {ours['kind']} here, a {real['kind']} in the SDK"]
    if real["kind"] != "method" and ours["kind"] == "method":
        return [f"an instance method here, a {real['kind']} in the SDK (called on the class)"]
    if real["params"] is None or ours["params"] is None:
        return []
    return _param_problems(real["params"], ours["params"])


def _reachers(
    reached_as: dict[str, set[str]], name: str, member: dict[str, Any] | None
) -> set[str]:
    """The classes a test may name to reach ``member`` of ``name``: the class and its shim
    subclasses, and the class defining the member with its subclasses (the same code)."""
    names = set(reached_as.get(name, {name}))
    owner = (member or {}).get("owner")
    if owner and owner != name:
        names |= reached_as.get(owner, {owner})
    return names


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def compare(
    real: dict[str, Any],
    ours: dict[str, Any],
    tested: Callable[[set[str], str], bool] | None = None,
) -> dict[str, Any]:
    """Per-class coverage of the real surface by ours, the gaps, and what could not be read.
    ``tested(class names, member)``: whether a test reaches the member through the class or one
    of the shim's subclasses of it (``names``); compatible members it does not reach are listed
    as untested and not counted as tested."""
    reached_as: dict[str, set[str]] = {}  # a shim class's name -> it and its shim subclasses
    for described in ours.values():
        for name, klass in described.get("classes", {}).items():
            for base in [name, *klass.get("bases", [])]:
                reached_as.setdefault(base, set()).add(name)
    classes: list[dict[str, Any]] = []
    missing_classes: list[str] = []
    unavailable: dict[str, str] = {}
    # A class importable from several modules is compared once, where the shim has it; each
    # import path the shim lacks is listed (``from <module> import <name>`` fails here).
    places: dict[str, list[tuple[str, str, dict[str, Any], dict[str, Any] | None]]] = {}
    for module, described in sorted(real.items()):
        mine = ours.get(module, {})
        if "error" in described or "error" in mine:
            unavailable[module] = described.get("error") or mine.get("error", "")
            continue
        for name, klass in sorted(described["classes"].items()):
            entry = (module, name, klass, mine["classes"].get(name))
            places.setdefault(klass["origin"], []).append(entry)
    for found in places.values():
        missing_classes.extend(f"{module}.{name}" for module, name, _, our in found if our is None)
        compared = next((entry for entry in found if entry[3] is not None), None)
        if compared is None:
            continue
        module, name, klass, our_class = compared
        assert our_class is not None
        gaps = {}
        untested = []
        for member, spec in sorted(klass["members"].items()):
            ours_spec = our_class["members"].get(member)
            problems = member_problems(spec, ours_spec)
            if problems:
                gaps[member] = problems
            elif tested is not None and not tested(_reachers(reached_as, name, ours_spec), member):
                untested.append(member)
        total = len(klass["members"])
        absent = sum(1 for problems in gaps.values() if problems == ["missing"])
        refused = sum(1 for p in gaps.values() if p[0].startswith("not emulated"))
        classes.append(
            {
                "class": f"{module}.{name}",
                "real": total,
                "present": total - absent,
                "compatible": total - len(gaps),
                "tested": total - len(gaps) - len(untested),
                "not_emulated": refused,
                "gaps": gaps,
                "untested": untested,
            }
        )
    classes.sort(key=lambda c: str(c["class"]))
    missing_classes.sort()
    real_total = sum(c["real"] for c in classes)
    compatible = sum(c["compatible"] for c in classes)
    return {
        "classes": classes,
        "totals": {
            "real": real_total,
            "present": sum(c["present"] for c in classes),
            "compatible": compatible,
            "tested": sum(c["tested"] for c in classes),
            "not_emulated": sum(c["not_emulated"] for c in classes),
            "percent_compatible": _percent(compatible, real_total),
            "percent_tested": _percent(sum(c["tested"] for c in classes), real_total),
        },
        "missing_classes": missing_classes,
        "unavailable_modules": unavailable,
    }


# -- driving the two interpreters -----------------------------------------------------------


def shimmed_modules() -> list[str]:
    """The ``azureml.*`` modules the shim maps to an emulator module."""
    from emulator.shim import SHIMMED_MODULES

    return sorted(m for m, target in SHIMMED_MODULES.items() if target and m.startswith("azureml."))


def ensure_venv(path: Path, spec: str) -> Path:
    """The scratch interpreter with ``spec`` installed (reused when already there)."""
    python = path / "bin" / "python"
    stamp = path / _STAMP
    if python.exists() and stamp.exists() and stamp.read_text() == spec:
        return python
    if shutil.which("uv"):
        subprocess.run(["uv", "venv", "-q", "--python", sys.executable, str(path)], check=True)
        install = ["uv", "pip", "install", "-q", "--python", str(python), spec]
    else:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(path)], check=True)
        install = [str(python), "-m", "pip", "install", "-q", spec]
    subprocess.run(install, check=True)
    stamp.write_text(spec)
    return python


def introspect(python: str, modules: list[str], shim: bool) -> dict[str, Any]:
    """Run this file under ``python`` to describe ``modules`` (through the shim when asked)."""
    command = [python, __file__, "--introspect", *(["--shim"] if shim else []), *modules]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if not shim:  # the real SDK alone: nothing of this checkout on its path
        env.pop("PYTHONPATH", None)
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"introspection under {python} failed:\n{done.stderr}")
    described: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return described


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--spec", default=DEFAULT_SPEC, help="the real SDK to compare against")
    parser.add_argument(
        "--venv",
        type=Path,
        default=Path.home() / ".cache" / "azureml-emulator" / "api-diff",
        help="scratch virtualenv for the real SDK (kept: reruns are fast)",
    )
    parser.add_argument(
        "--tests",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "tests",
        help="the tests whose calls count a member as tested",
    )
    parser.add_argument("--introspect", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--shim", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("modules", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.introspect:
        if args.shim:
            from emulator import shim  # the azureml.* import hook alone (no SDK v2 server)

            shim.activate()
        roots = ("emulator",) if args.shim else ("azureml",)
        print(json.dumps(describe_modules(args.modules, roots)))
        return 0
    modules = shimmed_modules()
    python = ensure_venv(args.venv, args.spec)
    report = compare(
        introspect(str(python), modules, shim=False),
        introspect(sys.executable, modules, shim=True),
        test_reader(args.tests),
    )
    report["spec"] = args.spec
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
