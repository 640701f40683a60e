"""Values as people read them, in ``amlemu``'s output and on the portal's pages alike: table
cells, keys masked until asked for, and Azure's error payloads with their real line breaks.
"""

from __future__ import annotations

import json
from typing import Any

_MASK_VISIBLE = 4


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
