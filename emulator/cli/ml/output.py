"""What ``amlemu ml`` prints, formatted as the Azure CLI (knack) formats a command's result.

CI scripts written for ``az ml`` read its output with ``--query`` and ``-o tsv`` (``KEY=$(az ml
online-endpoint get-credentials -n EP -o tsv --query primaryKey)``), so the same shapes are kept:
``json`` (the default) is indented with sorted keys; a text result (``invoke``, ``get-logs``) is a
JSON string there and printed as is by ``-o tsv``; ``tsv`` writes one line per list item with the
scalar values of a dict in key order; ``table`` shows the scalar columns; ``None`` prints nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import yaml

from emulator.exceptions import InvalidSetting

FORMATS = ("json", "jsonc", "yaml", "yamlc", "tsv", "table", "none")

#: Columns ``-o table`` leaves out (knack's choice: long, rarely read in a table).
_TABLE_SKIPPED = ("id", "type", "etag")


def compile_query(query: str | None) -> Callable[[Any], Any]:
    """``--query``: a JMESPath expression, checked before the command runs (as ``az`` checks
    it while parsing), returned as the function that applies it to the result."""
    if not query:
        return lambda result: result
    try:
        import jmespath
        from jmespath.exceptions import JMESPathError
    except ImportError:
        raise InvalidSetting(
            "--query needs the jmespath package (az's query language): pip install jmespath."
        ) from None
    try:
        expression = jmespath.compile(query)
    except JMESPathError as exc:
        raise InvalidSetting(
            f"argument --query: invalid jmespath query supplied: {query!r} ({exc})."
        ) from None
    return expression.search


def render(result: Any, output: str, *, queried: bool = False) -> str:
    """``result`` as ``-o OUTPUT`` prints it (empty for ``None``, as ``az`` prints nothing)."""
    if result is None or output == "none":
        return ""
    formatter: Callable[[Any, bool], str] = _FORMATTERS[output]
    return formatter(result, queried)


def _json(result: Any, queried: bool) -> str:
    return json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _yaml(result: Any, queried: bool) -> str:
    return str(yaml.safe_dump(result, default_flow_style=False, allow_unicode=True))


def _tsv(result: Any, queried: bool) -> str:
    rows = result if isinstance(result, list) else [result]
    return "".join(_tsv_row(row) + "\n" for row in rows)


def _tsv_row(row: Any) -> str:
    if isinstance(row, dict):
        return "\t".join(_tsv_cell(value) for _, value in sorted(row.items()))
    if isinstance(row, list):
        return "\t".join(_tsv_cell(value) for value in row)
    return _tsv_cell(row)


def _tsv_cell(value: Any) -> str:
    """A nested list shows its length, a nested dict nothing: one line stays one record."""
    if isinstance(value, list):
        return str(len(value))
    if isinstance(value, dict) or value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _table(result: Any, queried: bool) -> str:
    items = result if isinstance(result, list) else [result]
    rows = [_table_item(item, sort=not queried) for item in items]
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    if not columns:
        return ""
    cells = [[_table_cell(row.get(column)) for column in columns] for row in rows]
    # tabulate's "simple" format as knack uses it: columns at least two wider than their header.
    widths = [
        max(len(column) + 2, *(len(line[i]) for line in cells)) for i, column in enumerate(columns)
    ]
    lines = [columns, ["-" * width for width in widths], *cells]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        + "\n"
        for line in lines
    )


def _table_item(item: Any, *, sort: bool) -> dict[str, Any]:
    if not isinstance(item, dict):
        return {"Result": item}
    keys = sorted(item) if sort else list(item)
    return {
        key[:1].upper() + key[1:]: item[key]
        for key in keys
        if key not in _TABLE_SKIPPED
        and item[key] is not None
        and not isinstance(item[key], (dict, list))
    }


def _table_cell(value: Any) -> str:
    return "" if value is None else str(value)


_FORMATTERS: dict[str, Callable[[Any, bool], str]] = {
    "json": _json,
    "jsonc": _json,
    "yaml": _yaml,
    "yamlc": _yaml,
    "tsv": _tsv,
    "table": _table,
}
