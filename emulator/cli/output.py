"""How ``amlemu`` commands print: aligned tables, ``key  value`` blocks, JSON.

Every command renders through these few helpers, so listings look alike and ``--json`` is
always the same indented JSON. Single values (cells, masked keys, error payloads) read as on the
portal: :mod:`emulator.views.text`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from emulator.views.text import show

#: Width of the key column of :func:`print_fields` (the longest key of any blade fits).
KEY_WIDTH = 20


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
