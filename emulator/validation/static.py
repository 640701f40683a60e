"""Checks read from the entry script's syntax tree, without running it.

The script must parse and define ``init`` and ``run``; imports of modules scikit-learn removed
are flagged with their replacement; ``run()`` must not turn exceptions into its return value (a
200 carrying an error text) and ``init()`` must not swallow them (a Healthy container without a
model). The imports found here are what :mod:`.environment` resolves.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from emulator.validation.checks import Finding, Severity, finding


@dataclass(frozen=True)
class ImportRef:
    """One imported module (for ``from a.b import c``: ``a.b.c``, which may be a name)."""

    module: str
    line: int
    #: Inside a ``try`` whose handler catches ImportError: the script copes without it.
    guarded: bool

    @property
    def top(self) -> str:
        return self.module.split(".", 1)[0]


@dataclass(frozen=True)
class ScriptFacts:
    path: Path
    display: str
    tree: ast.Module | None
    imports: tuple[ImportRef, ...] = ()

    @property
    def runnable(self) -> bool:
        """Parsed, with ``init`` and ``run``: worth starting in the environment."""
        return self.tree is not None and {"init", "run"} <= _module_names(self.tree)


@dataclass(frozen=True)
class Deprecation:
    replacement: str
    fix: str
    #: scikit-learn version that removed it.
    removed_in: str


DEPRECATED: dict[str, Deprecation] = {
    "sklearn.externals.joblib": Deprecation(
        "joblib", "import joblib (and add joblib to the environment)", "0.23"
    ),
    "sklearn.externals.six": Deprecation(
        "six", "import six (and add six to the environment)", "0.23"
    ),
    "sklearn.cross_validation": Deprecation(
        "sklearn.model_selection", "import from sklearn.model_selection", "0.20"
    ),
    "sklearn.grid_search": Deprecation(
        "sklearn.model_selection", "import from sklearn.model_selection", "0.20"
    ),
    "sklearn.learning_curve": Deprecation(
        "sklearn.model_selection", "import from sklearn.model_selection", "0.20"
    ),
}
_BROAD = {"Exception", "BaseException"}
_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", *_BROAD}


def analyse(path: Path, display: str) -> tuple[ScriptFacts, list[Finding]]:
    """Parse the script and run the checks that need nothing but its text."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        return ScriptFacts(path, display, None), [
            finding(
                "AML001",
                f"{exc.msg} (line {exc.lineno}): {(exc.text or '').strip()}",
                path=display,
                line=exc.lineno,
            )
        ]
    except (UnicodeDecodeError, ValueError) as exc:
        return ScriptFacts(path, display, None), [
            finding("AML001", f"cannot be read as UTF-8 Python source: {exc}", path=display)
        ]
    facts = ScriptFacts(path, display, tree, tuple(_imports(tree)))
    findings = []
    names = _module_names(tree)
    for check, name in (("AML002", "init"), ("AML003", "run")):
        if name not in names:
            findings.append(finding(check, f"no module-level {name}() in {display}", path=display))
    findings += _run_swallows(facts)
    findings += _init_swallows(facts)
    return facts, findings


def deprecated_imports(facts: ScriptFacts, installed: Mapping[str, str | None]) -> list[Finding]:
    """AML011; a warning only where the environment's scikit-learn still has the module."""
    sklearn = _version(installed.get("scikit-learn"))
    findings = []
    for ref in facts.imports:
        for module, deprecation in DEPRECATED.items():
            if ref.module != module and not ref.module.startswith(module + "."):
                continue
            still_there = sklearn is not None and sklearn < Version(deprecation.removed_in)
            if sklearn is None:
                where = "the environment has no scikit-learn"
            elif still_there:
                where = f"the environment's scikit-learn {sklearn} still has it"
            else:
                where = f"the environment has scikit-learn {sklearn}: the import fails"
            findings.append(
                finding(
                    "AML011",
                    f"{module} was removed in scikit-learn {deprecation.removed_in} ({where}); "
                    f"use {deprecation.replacement} instead",
                    severity=Severity.WARNING if still_there else Severity.ERROR,
                    hint=f"Replace the import: {deprecation.fix}.",
                    path=facts.display,
                    line=ref.line,
                )
            )
    return findings


def module_function(tree: ast.Module, name: str) -> ast.FunctionDef | None:
    """The module-level ``def name`` the server will call (the last one wins)."""
    found = None
    for node in _module_statements(tree.body):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            found = node
    return found


def _module_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements executed at import, including those inside module-level if/try/with."""
    for node in body:
        yield node
        if isinstance(node, (ast.If, ast.With)):
            yield from _module_statements(node.body)
            yield from _module_statements(getattr(node, "orelse", []))
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _module_statements(block)
            for handler in node.handlers:
                yield from _module_statements(handler.body)


def _module_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in _module_statements(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _imports(tree: ast.Module) -> Iterator[ImportRef]:
    guarded_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(_catches(h, _IMPORT_ERRORS) for h in node.handlers):
            for statement in node.body:
                guarded_lines.update(
                    n.lineno for n in ast.walk(statement) if isinstance(n, ast.stmt)
                )
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield ImportRef(alias.name, node.lineno, node.lineno in guarded_lines)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "__future__":
                continue
            for alias in node.names:
                module = node.module if alias.name == "*" else f"{node.module}.{alias.name}"
                yield ImportRef(module, node.lineno, node.lineno in guarded_lines)


def _catches(handler: ast.ExceptHandler, names: set[str]) -> bool:
    """Whether the handler catches one of ``names`` (a bare ``except`` catches everything)."""
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(
        (isinstance(t, ast.Name) and t.id in names)
        or (isinstance(t, ast.Attribute) and t.attr in names)
        for t in types
    )


def _reraises(handler: ast.ExceptHandler) -> bool:
    for node in ast.walk(handler):
        if isinstance(node, ast.Raise):
            return True
        if isinstance(node, ast.Call) and _call_name(node) in {"sys.exit", "exit", "os._exit"}:
            return True
    return False


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{func.value.id}.{func.attr}"
    return ""


def _mentions_exception(expr: ast.AST, name: str | None) -> bool:
    """Whether ``expr`` uses the caught exception (its name, or the traceback helpers)."""
    for node in ast.walk(expr):
        if isinstance(node, ast.Name) and name is not None and node.id == name:
            return True
        if isinstance(node, ast.Call) and _call_name(node) in {
            "traceback.format_exc",
            "format_exc",
            "sys.exc_info",
        }:
            return True
    return False


def _is_response(expr: ast.expr) -> bool:
    """``AMLResponse(...)`` / ``Response(...)``: the script sets the status itself."""
    return isinstance(expr, ast.Call) and _call_name(expr).split(".")[-1].endswith("Response")


def _run_swallows(facts: ScriptFacts) -> list[Finding]:
    """AML030: an except block of run() whose exception text becomes run()'s return value."""
    assert facts.tree is not None
    run = module_function(facts.tree, "run")
    if run is None:
        return []
    returned = {
        n.id
        for ret in ast.walk(run)
        if isinstance(ret, ast.Return) and ret.value is not None
        for n in ast.walk(ret.value)
        if isinstance(n, ast.Name)
    }
    findings = []
    for handler in (n for n in ast.walk(run) if isinstance(n, ast.ExceptHandler)):
        if _reraises(handler):
            continue
        for node in (n for statement in handler.body for n in ast.walk(statement)):
            if isinstance(node, ast.Return) and node.value is not None:
                leaks = not _is_response(node.value) and _mentions_exception(
                    node.value, handler.name
                )
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                leaks = (
                    node.value is not None
                    and not _is_response(node.value)
                    and _mentions_exception(node.value, handler.name)
                    and any(isinstance(t, ast.Name) and t.id in returned for t in targets)
                )
            else:
                continue
            if leaks:
                findings.append(
                    finding(
                        "AML030",
                        f"the except block at line {handler.lineno} makes the exception text "
                        "run()'s return value: Azure answers such requests with 200",
                        path=facts.display,
                        line=node.lineno,
                    )
                )
                break
    return findings


def _init_swallows(facts: ScriptFacts) -> list[Finding]:
    """AML005: init() catches everything and carries on."""
    assert facts.tree is not None
    init = module_function(facts.tree, "init")
    if init is None:
        return []
    return [
        finding(
            "AML005",
            f"the except block at line {handler.lineno} catches every exception and does not "
            "re-raise: if loading fails the container still starts",
            path=facts.display,
            line=handler.lineno,
        )
        for handler in ast.walk(init)
        if isinstance(handler, ast.ExceptHandler)
        and _catches(handler, _BROAD)
        and not _reraises(handler)
    ]


def _version(text: str | None) -> Version | None:
    if not text:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None
