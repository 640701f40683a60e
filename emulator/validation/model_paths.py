"""Model paths in the entry script against the layout the deployment will have.

``Model.get_model_path(name[, version])`` must name a deployed model; a path built from
``AZUREML_MODEL_DIR`` (``os.path.join``, ``Path(...) / ...``, ``+`` or an f-string, with
literal parts) must exist in the layout of :mod:`emulator.models.layout`: the registered file
or folder in ``<name>/<version>/``, and ``AZUREML_MODEL_DIR`` pointing at that version folder
for one model, at ``azureml-models`` for several. Names assigned a single string literal are
followed, as in the seed's ``model_name = '...'`` before ``get_model_path(model_name=...)``.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Sequence

from emulator.models.layout import MODELS_DIRNAME
from emulator.models.records import ModelRecord
from emulator.validation.checks import Finding, finding
from emulator.validation.static import ScriptFacts

MODEL_DIR_VARIABLE = "AZUREML_MODEL_DIR"
_GLOB = set("*?[")


def check_model_paths(facts: ScriptFacts, models: Sequence[ModelRecord]) -> list[Finding]:
    if facts.tree is None:
        return []
    scanner = _Scanner(facts.tree)
    findings = [
        f for call in scanner.model_path_calls() if (f := _check_call(facts, call, scanner, models))
    ]
    layout = deployed_paths(models)
    for node, relative in scanner.model_dir_joins():
        if relative in layout:
            continue
        findings.append(
            finding(
                "AML021",
                f"'{relative}' under {MODEL_DIR_VARIABLE} does not exist in this deployment "
                f"({_describe(models)})",
                hint=_join_hint(relative, models, layout),
                path=facts.display,
                line=node.lineno,
            )
        )
    return findings


def deployed_paths(models: Sequence[ModelRecord]) -> set[str]:
    """Every file and folder below ``AZUREML_MODEL_DIR``, as relative posix paths."""
    paths: set[str] = set()
    for record in models:
        prefix = "" if len(models) == 1 else f"{record.name}/{record.version}/"
        if prefix:
            paths.update({record.name, prefix.rstrip("/")})
        for f in record.files:
            parts = f"{prefix}{f.path}".split("/")
            paths.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return paths


def _describe(models: Sequence[ModelRecord]) -> str:
    if not models:
        return "no models are deployed"
    if len(models) == 1:
        m = models[0]
        return f"one model: {MODEL_DIR_VARIABLE} is {MODELS_DIRNAME}/{m.name}/{m.version}"
    return f"{len(models)} models: {MODEL_DIR_VARIABLE} is {MODELS_DIRNAME}"


def _join_hint(relative: str, models: Sequence[ModelRecord], layout: set[str]) -> str:
    files = sorted(p for p in layout if any(p.endswith(f.path) for m in models for f in m.files))
    if len(models) == 1:
        m = models[0]
        stripped = relative.removeprefix(f"{m.name}/{m.version}/").removeprefix(f"{m.name}/")
        if stripped != relative and stripped in layout:
            return (
                f"With one model {MODEL_DIR_VARIABLE} already is the version folder: join "
                f"'{stripped}' only."
            )
    else:
        owners = [f"{m.name}/{m.version}/{relative}" for m in models]
        owners = [p for p in owners if p in layout]
        if owners:
            return (
                f"With several models {MODEL_DIR_VARIABLE} is {MODELS_DIRNAME}: join "
                f"'{owners[0]}' (<name>/<version>/<file>)."
            )
    close = difflib.get_close_matches(relative, files or sorted(layout), n=1, cutoff=0.0)
    if close:
        return f"Join the deployed path '{close[0]}'."
    return "Deploy the model the script needs (--model NAME=PATH)."


def _check_call(
    facts: ScriptFacts, call: ast.Call, scanner: _Scanner, models: Sequence[ModelRecord]
) -> Finding | None:
    name_node = _argument(call, 0, "model_name")
    version_node = _argument(call, 1, "version")
    name = scanner.string(name_node) if name_node is not None else None
    if name is None:
        return None
    version = scanner.integer(version_node) if version_node is not None else None
    deployed = {m.name: m for m in models}
    if name not in deployed:
        close = difflib.get_close_matches(name, list(deployed), n=1)
        listing = ", ".join(m.model_id for m in models) or "none"
        return finding(
            "AML020",
            f"get_model_path('{name}'): no model called '{name}' is deployed (deployed: {listing})",
            hint=f"Use '{close[0]}', the deployed model's name." if close else None,
            path=facts.display,
            line=call.lineno,
        )
    wanted = [m for m in models if m.name == name and (version is None or m.version == version)]
    if not wanted:
        return finding(
            "AML020",
            f"get_model_path('{name}', version={version}): version {version} is not deployed "
            f"(deployed: {deployed[name].model_id})",
            hint="Drop the version argument (the deployed version is used) or deploy that version.",
            path=facts.display,
            line=call.lineno,
        )
    return None


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return call.args[position] if len(call.args) > position else None


class _Scanner:
    """Finds model-path expressions; follows names bound once to a literal or the variable."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        bindings: dict[str, list[ast.expr]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    bindings.setdefault(target.id, []).append(node.value)
        self._constants = {
            name: values[0].value
            for name, values in bindings.items()
            if len(values) == 1
            and isinstance(values[0], ast.Constant)
            and isinstance(values[0].value, (str, int))
        }
        self._dir_names = {
            name
            for name, values in bindings.items()
            if values and all(self._reads_model_dir(value) for value in values)
        }

    def string(self, node: ast.expr) -> str | None:
        value = self._literal(node)
        return value if isinstance(value, str) else None

    def integer(self, node: ast.expr) -> int | None:
        value = self._literal(node)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def _literal(self, node: ast.expr) -> object:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self._constants.get(node.id)
        return None

    def model_path_calls(self) -> list[ast.Call]:
        return [
            node
            for node in ast.walk(self.tree)
            if isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "get_model_path")
                or (isinstance(node.func, ast.Name) and node.func.id == "get_model_path")
            )
        ]

    def model_dir_joins(self) -> list[tuple[ast.expr, str]]:
        """``(node, path relative to AZUREML_MODEL_DIR)`` for each literal join."""
        joins = []
        inner: set[int] = set()  # left operands of a longer a / b / c chain: checked with it
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.expr) or id(node) in inner:
                continue
            if isinstance(node, ast.BinOp):
                left = node.left
                while isinstance(left, ast.BinOp):
                    inner.add(id(left))
                    left = left.left
            parts = self._join_parts(node)
            if parts is None:
                continue
            pieces = [p for part in parts for p in part.split("/") if p not in ("", ".")]
            relative = "/".join(pieces)
            if relative and not _GLOB & set(relative) and ".." not in pieces:
                joins.append((node, relative))
        return joins

    def _join_parts(self, node: ast.expr) -> list[str] | None:
        if isinstance(node, ast.Call) and _is_path_join(node.func) and node.args:
            if self._is_model_dir(node.args[0]):
                return self._strings(node.args[1:])
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.Add)):
            chain: list[ast.expr] = []
            left: ast.expr = node
            while isinstance(left, ast.BinOp) and isinstance(left.op, type(node.op)):
                chain.insert(0, left.right)
                left = left.left
            if self._is_model_dir(left, allow_path=isinstance(node.op, ast.Div)):
                return self._strings(chain)
        elif isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.FormattedValue) and self._is_model_dir(first.value):
                return self._strings(node.values[1:])
        return None

    def _strings(self, nodes: Sequence[ast.expr]) -> list[str] | None:
        values = [self.string(n) for n in nodes]
        if any(v is None for v in values):
            return None
        return [v for v in values if v is not None]

    def _is_model_dir(self, node: ast.expr, allow_path: bool = False) -> bool:
        if isinstance(node, ast.Name) and node.id in self._dir_names:
            return True
        if allow_path and isinstance(node, ast.Call) and len(node.args) == 1:
            func = node.func
            is_path = (isinstance(func, ast.Name) and func.id == "Path") or (
                isinstance(func, ast.Attribute) and func.attr == "Path"
            )
            return is_path and self._is_model_dir(node.args[0])
        return self._reads_model_dir(node)

    def _reads_model_dir(self, node: ast.expr) -> bool:
        """``os.getenv('AZUREML_MODEL_DIR')``, ``os.environ.get(...)``, ``os.environ[...]``."""
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            getter = (isinstance(func, ast.Name) and func.id == "getenv") or (
                isinstance(func, ast.Attribute)
                and (func.attr == "getenv" or (func.attr == "get" and _is_environ(func.value)))
            )
            return getter and self.string(node.args[0]) == MODEL_DIR_VARIABLE
        if isinstance(node, ast.Subscript) and _is_environ(node.value):
            return isinstance(node.slice, ast.expr) and (
                self.string(node.slice) == MODEL_DIR_VARIABLE
            )
        return False


def _is_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _is_path_join(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id == "join"
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "join"
        and (
            (isinstance(func.value, ast.Attribute) and func.value.attr == "path")
            or (isinstance(func.value, ast.Name) and func.value.id in {"path", "posixpath"})
        )
    )
