"""Malformed request bodies (bytes), each derived from a valid payload so it is wrong in one way.

Kinds: ``wrong_type`` (a number inside an array, an array, or the whole body replaced by a value
of another type), ``missing_keys`` (the body's array-valued parameters dropped, or a column
dropped from every row), ``truncated`` (the JSON text cut short), ``non_utf8`` (an invalid
UTF-8 byte inserted), ``huge_number`` (``1e999``, ``-1e999`` or a 400-digit integer in place
of a number) and ``deep_nesting`` (thousands of nested arrays in place of a value).

A service should refuse each with a 4xx or 5xx and a message. Mutations touch the data (arrays)
rather than settings objects, which a script may legitimately ignore; still, the check assumes
that ``run()`` uses every array it declares.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from emulator.testing.payloads import payloads

Path = tuple[Any, ...]
KINDS = ("wrong_type", "missing_keys", "truncated", "non_utf8", "huge_number", "deep_nesting")
_MARKER = "\x00amlemu-splice\x00"
_WRONG = {
    "number": ("not a number", {"unexpected": "object"}),
    "array": ("not an array", 12345),
    "object": (["not", "an", "object"], "not an object"),
    "scalar": ({"unexpected": "object"}, ["not", "a", "scalar"]),
}
_HUGE = ("1e999", "-1e999", "1" + "0" * 400)
_INVALID_UTF8 = (b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80")


def malformed_payloads(
    source: Any, *, kinds: Iterable[str] = KINDS, max_rows: int = 3
) -> SearchStrategy[bytes]:
    """Malformed bodies derived from valid ones: ``source`` is anything
    :func:`~emulator.testing.payloads` accepts, or a strategy of valid payloads."""
    valid = source if isinstance(source, SearchStrategy) else payloads(source, max_rows=max_rows)
    chosen = list(kinds)
    unknown = sorted(set(chosen) - set(KINDS))
    if unknown or not chosen:
        raise ValueError(f"unknown malformed payload kinds {unknown}; choose from {list(KINDS)}")
    return st.one_of([_BUILDERS[kind](valid) for kind in chosen])


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode()


def _nodes(value: Any, path: Path = (), in_array: bool = False) -> Iterable[tuple[Path, str]]:
    """(path, kind) of the values a mutation may replace: the root, arrays, numbers in arrays."""
    if isinstance(value, list):
        yield path, "array"
        for index, item in enumerate(value):
            yield from _nodes(item, (*path, index), True)
    elif isinstance(value, dict):
        if not path:
            yield path, "object"
        for key, item in value.items():
            yield from _nodes(item, (*path, key), False)
    elif isinstance(value, int | float) and not isinstance(value, bool) and in_array:
        yield path, "number"


def _replace(value: Any, path: Path, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, list):
        return [_replace(item, rest, new) if i == head else item for i, item in enumerate(value)]
    return {key: _replace(item, rest, new) if key == head else item for key, item in value.items()}


def _pick(candidates: list[Any], choice: int) -> Any:
    return candidates[choice % len(candidates)]


def _splice(value: Any, path: Path, literal: str) -> bytes:
    """``value`` as JSON with ``literal`` (raw JSON text) at ``path``."""
    marked = json.dumps(_replace(value, path, _MARKER))
    return marked.replace(json.dumps(_MARKER), literal, 1).encode()


def _with_choices(
    valid: SearchStrategy[Any], build: Callable[[Any, int, int], bytes]
) -> SearchStrategy[bytes]:
    choices = st.integers(0, 2**16)
    return st.tuples(valid, choices, choices).map(lambda drawn: build(*drawn))


def _wrong_type(valid: SearchStrategy[Any]) -> SearchStrategy[bytes]:
    def build(value: Any, where: int, which: int) -> bytes:
        path, kind = _pick(list(_nodes(value)) or [((), "scalar")], where)
        return _encode(_replace(value, path, _pick(list(_WRONG[kind]), which)))

    return _with_choices(valid, build)


def _missing_keys(valid: SearchStrategy[Any]) -> SearchStrategy[bytes]:
    def build(value: Any) -> bytes:
        if isinstance(value, dict):
            kept = {key: item for key, item in value.items() if not isinstance(item, list)}
            return _encode(kept if len(kept) < len(value) else {})
        if isinstance(value, list) and value and all(isinstance(row, list) for row in value):
            return _encode([row[:-1] for row in value])
        return b"{}"

    return valid.map(build)


def _parses(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _truncated(valid: SearchStrategy[Any]) -> SearchStrategy[bytes]:
    def build(value: Any, where: int, _which: int) -> bytes:
        text = _encode(value)
        return text[: where % len(text)]

    return _with_choices(valid, build).filter(lambda body: not _parses(body))


def _non_utf8(valid: SearchStrategy[Any]) -> SearchStrategy[bytes]:
    def build(value: Any, where: int, which: int) -> bytes:
        text = _encode(value)  # ASCII (json.dumps escapes the rest), so any insertion breaks it
        at = where % (len(text) + 1)
        return text[:at] + _pick(list(_INVALID_UTF8), which) + text[at:]

    return _with_choices(valid, build)


def _huge_number(valid: SearchStrategy[Any]) -> SearchStrategy[bytes]:
    def build(value: Any, where: int, which: int) -> bytes:
        numbers = [path for path, kind in _nodes(value) if kind == "number"] or [()]
        return _splice(value, _pick(numbers, where), _pick(list(_HUGE), which))

    return _with_choices(valid, build)


def _deep_nesting(valid: SearchStrategy[Any]) -> SearchStrategy[bytes]:
    def build(value: Any, where: int, which: int) -> bytes:
        depth = 2000 + which % 3000
        places = [path for path, kind in _nodes(value) if path] or [()]
        return _splice(value, _pick(places, where), "[" * depth + "]" * depth)

    return _with_choices(valid, build)


_BUILDERS: dict[str, Callable[[SearchStrategy[Any]], SearchStrategy[bytes]]] = {
    "wrong_type": _wrong_type,
    "missing_keys": _missing_keys,
    "truncated": _truncated,
    "non_utf8": _non_utf8,
    "huge_number": _huge_number,
    "deep_nesting": _deep_nesting,
}
