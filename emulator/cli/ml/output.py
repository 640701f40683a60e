"""What ``amlemu ml`` prints, formatted as the Azure CLI (knack) formats a command's result.

CI scripts written for ``az ml`` read its output with ``--query`` and ``-o tsv`` (``KEY=$(az ml
online-endpoint get-credentials -n EP -o tsv --query primaryKey)``), so the same shapes are kept:
``json`` (the default) is indented with sorted keys; a text result (``invoke``, ``get-logs``) is a
JSON string there and printed as is by ``-o tsv``; ``tsv`` writes one line per list item with the
scalar values of a dict in key order; ``table`` shows the scalar columns; ``None`` prints nothing.
"""

from __future__ import annotations

import json
from collections import OrderedDict
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
    # As knack: hashes the query builds keep its order (tsv and table columns follow it).
    options = jmespath.Options(dict_cls=OrderedDict)
    return lambda result: expression.search(result, options)


def render(result: Any, output: str, *, queried: bool = False) -> str:
    """``result`` as ``-o OUTPUT`` prints it (empty for ``None``, as ``az`` prints nothing)."""
    if result is None or output == "none":
        return ""
    formatter: Callable[[Any, bool], str] = _FORMATTERS[output]
    return formatter(result, queried)


def _json(result: Any, queried: bool) -> str:
    return json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _yaml(result: Any, queried: bool) -> str:
    plain = json.loads(json.dumps(result))  # a --query's OrderedDicts are no YAML safe_dump takes
    return str(yaml.safe_dump(plain, default_flow_style=False, allow_unicode=True))


def _tsv(result: Any, queried: bool) -> str:
    rows = result if isinstance(result, list) else [result]
    return "".join(_tsv_row(row) + "\n" for row in rows)


def _tsv_row(row: Any) -> str:
    """A dict's values in key order (a ``--query`` hash's in its own order), a list's in order."""
    if isinstance(row, OrderedDict):
        return "\t".join(_tsv_cell(value) for value in row.values())
    if isinstance(row, dict):
        return "\t".join(_tsv_cell(value) for _, value in sorted(row.items()))
    if isinstance(row, list):
        return "\t".join(_tsv_cell(value) for value in row)
    if isinstance(row, bool):
        return str(row).lower()
    return _tsv_cell(row)


def _tsv_cell(value: Any) -> str:
    """A nested list shows its length, a nested dict nothing: one line stays one record."""
    if isinstance(value, list):
        return str(len(value))
    if isinstance(value, dict):
        return ""
    return value if isinstance(value, str) else str(value)


def _table(result: Any, queried: bool) -> str:
    items = result if isinstance(result, list) else [result]
    rows = [_table_item(item, sort=not queried) for item in items]
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    if not columns:
        return "\n"
    cells = [[_table_cell(row.get(column)) for column in columns] for row in rows]
    # tabulate's "simple" format as knack uses it: columns at least two wider than their header.
    widths = [
        max(len(column) + 2, *(_width(line[i]) for line in cells))
        for i, column in enumerate(columns)
    ]
    lines = [columns, ["-" * width for width in widths], *cells]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        + "\n"
        for line in lines
    )


def _table_item(item: Any, *, sort: bool) -> dict[str, Any]:
    """knack's automatic columns: a dict's scalar fields (capitalized), else Column1... / Result."""
    if isinstance(item, list):
        return {f"Column{number}": value for number, value in enumerate(item, start=1)}
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


def _width(cell: str) -> int:
    return max((len(line) for line in cell.splitlines()), default=0)


_FORMATTERS: dict[str, Callable[[Any, bool], str]] = {
    "json": _json,
    "jsonc": _json,
    "yaml": _yaml,
    "yamlc": _yaml,
    "tsv": _tsv,
    "table": _table,
}
