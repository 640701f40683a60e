"""How ``amlemu`` commands print: aligned tables, ``key  value`` blocks, JSON, masked secrets.

Every command renders through these few helpers, so listings look alike and ``--json`` is
always the same indented JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

#: Width of the key column of :func:`print_fields` (the longest key of any blade fits).
KEY_WIDTH = 20
_MASK_VISIBLE = 4


def print_json(value: Any) -> None:
    """``value`` as indented JSON (dates and paths as strings)."""
    print(json.dumps(value, indent=2, default=str))


def print_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Columns padded to their widest cell; trailing spaces stripped."""
    lines = [tuple(header), *(tuple(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        cells = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        print("  ".join(cells).rstrip())


def print_fields(pairs: Iterable[tuple[str, Any]]) -> None:
    """``key  value`` lines; ``None`` shows as ``-``, dicts and lists as compact JSON, and the
    continuation lines of a multi-line value are indented under the value column."""
    for key, value in pairs:
        text = show(value)
        first, *rest = text.splitlines() or [""]
        print(f"{key:{KEY_WIDTH}} {first}".rstrip())
        for line in rest:
            print(f"{'':{KEY_WIDTH}} {line}".rstrip())


def print_section(title: str, body: str) -> None:
    """A titled block (``title:``) with ``body`` indented by two spaces."""
    print(f"{title}:")
    for line in body.splitlines():
        print(f"  {line}".rstrip())


def show(value: Any) -> str:
    """One value as a table cell or field shows it."""
    if value is None or value == "":
        return "-"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value) if value else "-"
    return str(value)


def pretty_error(error: Any) -> str:
    """An Azure error payload for people: ``key: value`` lines, nested details indented, and
    messages with their real line breaks (JSON would show them as ``\\n``)."""
    return "\n".join(_error_lines(error))


def _error_lines(value: Any) -> list[str]:
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines += [f"{key}:", *(f"  {line}" for line in _error_lines(item))]
            else:
                first, *rest = show(item).splitlines() or ["-"]
                lines += [f"{key}: {first}", *(f"  {line}" for line in rest)]
        return lines
    if isinstance(value, list):
        lines = []
        for item in value:
            first, *rest = _error_lines(item) or ["-"]
            lines += [f"- {first}", *(f"  {line}" for line in rest)]
        return lines
    return show(value).splitlines()


def mask(secret: str | None) -> str | None:
    """A key as the portal shows it before "show": all but the last characters hidden."""
    if not secret:
        return secret
    return "*" * max(0, len(secret) - _MASK_VISIBLE) + secret[-_MASK_VISIBLE:]
