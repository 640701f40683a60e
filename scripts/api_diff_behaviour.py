"""What a member does when called, and whether a test calls it: the honesty half of
``scripts/api_diff.py`` (standard library only; it runs under the real SDK's interpreter too).

A member that exists with the SDK's signature is not yet a member that works. ``behaviour``
reads a function's source: an ``@not_emulated`` member (its reason), one whose whole body is a
single ``raise`` (a refusal), or one whose body does nothing (a placeholder) is reported, so
the diff lists it as not emulated unless the SDK's own member does the same (abstract bases).
``test_reader`` finds the members no test reads or calls.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _body(function: Any) -> list[ast.stmt] | None:
    """The function's statements without its docstring (``None``: no source to read)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return None
    node = tree.body[0] if tree.body else None
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    body = list(node.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return body


def _trivial(statement: ast.stmt) -> bool:
    """``pass``, ``...`` or ``return``/``return None``: a statement that does nothing."""
    if isinstance(statement, ast.Pass):
        return True
    if isinstance(statement, ast.Expr):
        return isinstance(statement.value, ast.Constant) and statement.value.value is Ellipsis
    if isinstance(statement, ast.Return):
        value = statement.value
        return value is None or (isinstance(value, ast.Constant) and value.value is None)
    return False


def _refusal(raised: ast.expr | None) -> str:
    """``ErrorType: message`` of a ``raise`` (the literal parts of its first argument)."""
    call = raised if isinstance(raised, ast.Call) else None
    target = call.func if call is not None else raised
    name = getattr(target, "id", None) or getattr(target, "attr", None) or "an error"
    message = ""
    if call is not None and call.args:
        first = call.args[0]
        parts = first.values if isinstance(first, ast.JoinedStr) else [first]
        message = "".join(
            str(p.value) for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str)
        )
    return f"{name}: {message}".rstrip(": ").splitlines()[0] if message else str(name)


def _delegated_refusal(function: Any, body: list[ast.stmt]) -> str | None:
    """The refusal a member ends in when its whole body is ``return Owner._client().m(...)`` and
    the client's ``m`` only raises, or only calls a helper whose last statement raises: how
    azureml-core 1.61 retired its pre-1.0 ``Dataset`` API (``Dataset.get`` returns
    ``Dataset._client().get(...)``, whose body is ``_log_not_supported_api_usage_and_raise``,
    which logs and raises NotImplementedError). ``Owner._client()`` is called to find the client
    (in the SDK it imports and returns the client class; nothing else is called)."""
    if len(body) != 1 or not isinstance(body[0], ast.Return):
        return None
    call = body[0].value
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
        return None
    factory = call.func.value
    if not (
        isinstance(factory, ast.Call)
        and not factory.args
        and isinstance(factory.func, ast.Attribute)
        and factory.func.attr == "_client"
        and isinstance(factory.func.value, ast.Name)
    ):
        return None
    owner = inspect.unwrap(function).__globals__.get(factory.func.value.id)
    try:
        client = owner._client()
    except Exception:  # not the pattern after all: the member does something
        return None
    method = inspect.unwrap(getattr(client, call.func.attr, None) or (lambda: None))
    target = _body(method) if inspect.isfunction(method) else None
    if target and len(target) == 1 and isinstance(target[0], ast.Expr):
        called = target[0].value
        helper = (
            method.__globals__.get(called.func.id)
            if isinstance(called, ast.Call) and isinstance(called.func, ast.Name)
            else None
        )
        target = (_body(helper) or [])[-1:] if inspect.isfunction(helper) else None
    if not target or len(target) != 1 or not isinstance(target[0], ast.Raise):
        return None
    error = _refusal(target[0].exc).split(":")[0]
    return f"{error} from {getattr(client, '__name__', 'its client')}.{call.func.attr}"


def behaviour(function: Any) -> dict[str, str]:
    """What a member does when called, when that is nothing: ``not_emulated`` (the reason of an
    ``@not_emulated`` member), ``refuses`` (its whole body is one ``raise``, it only delegates
    to a client member that raises, or it is marked ``__sdk_refuses__``: it refuses as the
    SDK's own member does) or ``placeholder`` (its body does nothing). Empty for a member that
    does something."""
    function = getattr(function, "fget", function)  # a property: its getter
    function = getattr(function, "__func__", function)
    reason = getattr(function, "__not_emulated__", None)
    if isinstance(reason, str):
        return {"not_emulated": reason}
    refusal = getattr(function, "__sdk_refuses__", None)  # emulator/sdk/dataset_legacy.py
    if isinstance(refusal, str):
        return {"refuses": refusal}
    body = _body(inspect.unwrap(function)) if inspect.isfunction(function) else None
    if not body and body is not None:
        return {"placeholder": "its body is empty"}
    if body and len(body) == 1 and isinstance(body[0], ast.Raise):
        return {"refuses": _refusal(body[0].exc)}
    delegated = _delegated_refusal(function, body) if body else None
    if delegated is not None:
        return {"refuses": delegated}
    if body and all(_trivial(statement) for statement in body):
        return {"placeholder": "its body does nothing"}
    return {}


def test_reader(tests: Path) -> Callable[[str, str], bool]:
    """``tested(class names, member)``: some test file under ``tests`` names one of the classes
    and reads ``.member`` (calls ``Class(`` for ``__init__``). A textual check, not a coverage
    trace: it finds members no test touches, the ones a user would be first to break."""
    texts = [path.read_text(encoding="utf-8") for path in sorted(tests.rglob("*.py"))]

    def tested(classes: set[str], member: str) -> bool:
        for klass in classes:
            use = re.compile(rf"\b{klass}\(" if member == "__init__" else rf"\.{member}\b")
            if any(klass in text and use.search(text) for text in texts):
                return True
        return False

    return tested
