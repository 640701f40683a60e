"""The other tabular formats: JSON lines (standard library) and Parquet (with ``pyarrow``, only
when it is installed; otherwise an error naming the fix), read into the same rows as delimited
files (:mod:`emulator.sdk.dataset_tabular_read`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from emulator.sdk.dataset_paths import DataFile
from emulator.sdk.exceptions import UserErrorException

Row = dict[str, Any]
PATH_COLUMN = "Path"


def read_json_lines(
    files: Sequence[DataFile], options: dict[str, Any]
) -> tuple[list[str], list[Row]]:
    """One row per JSON object line; columns in order of first appearance. A line that is not
    a JSON object fails (``invalid_lines='error'``) or is skipped (``'drop'``)."""
    drop = options.get("invalid_lines", "error") == "drop"
    columns: dict[str, None] = {}
    rows: list[Row] = []
    for data in files:
        text = data.local.read_text(
            encoding=options.get("encoding", "utf8").replace("utf8", "utf-8")
        )
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
                if not isinstance(value, dict):
                    raise ValueError("not a JSON object")
            except ValueError as exc:
                if drop:
                    continue
                raise UserErrorException(
                    f"Line {number} of {data.relative} is not a JSON object ({exc}). "
                    "[emulator] Fix the line or pass invalid_lines='drop'."
                ) from None
            if options.get("include_path"):
                value = {PATH_COLUMN: data.relative, **value}
            columns.update(dict.fromkeys(value))
            rows.append(value)
    names = list(columns)
    return names, [{name: row.get(name) for name in names} for row in rows]


def read_parquet(files: Sequence[DataFile], options: dict[str, Any]) -> tuple[list[str], list[Row]]:
    """The rows of Parquet files, read with pyarrow."""
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise ImportError(
            "Reading Parquet files needs pyarrow, which is not installed in this environment. "
            "[emulator] Install it where this code runs: pip install pyarrow."
        ) from None
    columns: list[str] = []
    rows: list[Row] = []
    for data in files:
        table = parquet.read_table(str(data.local))
        for name in table.column_names:
            if name not in columns:
                columns.append(name)
        for row in table.to_pylist():
            rows.append({PATH_COLUMN: data.relative, **row} if options.get("include_path") else row)
    if options.get("include_path"):
        columns.insert(0, PATH_COLUMN)
    return columns, [{name: row.get(name) for name in columns} for row in rows]
