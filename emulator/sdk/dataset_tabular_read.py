"""A tabular dataset's rows: delimited files parsed as the SDK's ``from_delimited_files`` reads
them (header, separator, encoding, column types inferred from the values), then the dataset's
steps (``take``, ``skip``, ``keep_columns``, ``drop_columns``, ``take_sample``,
``random_split``) applied in order.

Rows are plain dicts (column → value), so reading needs only the standard library; pandas is
needed only to hand them over as a DataFrame (:func:`to_dataframe`).
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from typing import Any

from emulator.sdk.dataset_formats import read_json_lines, read_parquet
from emulator.sdk.dataset_paths import DataFile
from emulator.sdk.dataset_timeseries import keep_in_range
from emulator.sdk.exceptions import UserErrorException

Row = dict[str, Any]
PATH_COLUMN = "Path"


def read_rows(files: Sequence[DataFile], options: dict[str, Any]) -> tuple[list[str], list[Row]]:
    """Columns and rows of ``files`` read with the factory's ``options`` (its ``format``)."""
    kind = options.get("format", "delimited")
    if kind == "json_lines":
        return read_json_lines(files, options)
    if kind == "parquet":
        return read_parquet(files, options)
    return _read_delimited(files, options)


def _read_delimited(
    files: Sequence[DataFile], options: dict[str, Any]
) -> tuple[list[str], list[Row]]:
    separator = options.get("separator", ",")
    header = options.get("header", True)
    encoding = _encoding(options.get("encoding", "utf8"))
    columns: list[str] = []
    raw: list[list[str]] = []
    sources: list[str] = []
    for index, data in enumerate(files):
        text = data.local.read_text(encoding=encoding)
        lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))
        lines = [line for line in lines if line]
        if header and lines:
            if index == 0:
                columns = _unique(lines[0])
            lines = lines[1:]
        raw.extend(lines)
        sources.extend([data.relative] * len(lines))
    width = max([len(columns), *(len(line) for line in raw)]) if raw or columns else 0
    columns += [f"Column{i + 1}" for i in range(len(columns), width)]
    empty_as_string = bool(options.get("empty_as_string", False))
    converters = [
        _converter([line[i] if i < len(line) else "" for line in raw], empty_as_string)
        if options.get("infer_column_types", True)
        else _as_text(empty_as_string)
        for i in range(width)
    ]
    rows = []
    for line, source in zip(raw, sources, strict=True):
        row: Row = {}
        if options.get("include_path"):
            row[PATH_COLUMN] = source
        for i, column in enumerate(columns):
            row[column] = converters[i](line[i] if i < len(line) else "")
        rows.append(row)
    return ([PATH_COLUMN] if options.get("include_path") else []) + columns, rows


def apply_steps(
    columns: list[str], rows: list[Row], steps: Sequence[Sequence[Any]]
) -> tuple[list[str], list[Row]]:
    """The rows after the dataset's steps, in the order they were added."""
    for step in steps:
        kind = step[0]
        if kind == "take":
            rows = rows[: step[1]]
        elif kind == "skip":
            rows = rows[step[1] :]
        elif kind in ("keep_columns", "drop_columns"):
            unknown = [c for c in step[1] if c not in columns]
            if unknown and kind == "keep_columns":
                raise UserErrorException(
                    f"Column(s) {', '.join(unknown)} not found. Columns: {', '.join(columns)}."
                )
            keep = set(step[1]) if kind == "keep_columns" else set(columns) - set(step[1])
            columns = [c for c in columns if c in keep]
            rows = [{c: row[c] for c in columns} for row in rows]
        elif kind == "sample":
            chooser = random.Random(step[2])
            rows = [row for row in rows if chooser.random() < step[1]]
        elif kind == "split":
            _, percentage, seed, first = step
            chooser = random.Random(seed)
            rows = [row for row in rows if (chooser.random() < percentage) == first]
        elif kind == "timestamps":  # names the timestamp columns; the rows stay
            continue
        elif kind == "time_filter":
            rows = keep_in_range(rows, step)
        else:  # a record written by a newer emulator
            raise UserErrorException(f"Unknown dataset step {kind!r}: upgrade azureml-emulator.")
    return columns, rows


def to_dataframe(columns: list[str], rows: list[Row]) -> Any:
    """The rows as a pandas DataFrame; a clear error when pandas is not installed."""
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "to_pandas_dataframe needs pandas, which is not installed in this environment. "
            "[emulator] Install it where this code runs: pip install pandas."
        ) from None
    return pandas.DataFrame.from_records(rows, columns=columns)


def _converter(values: list[str], empty_as_string: bool) -> Any:
    present = [v for v in values if v != ""]
    for kind in (int, float):
        try:
            for value in present:
                kind(value)
        except ValueError:
            continue
        return lambda text, kind=kind: kind(text) if text != "" else None
    if present and all(v.lower() in ("true", "false") for v in present):
        return lambda text: text.lower() == "true" if text != "" else None
    return _as_text(empty_as_string)


def _as_text(empty_as_string: bool) -> Any:
    return lambda text: text if text != "" or empty_as_string else None


def _unique(names: list[str]) -> list[str]:
    """Header names with duplicates suffixed (``a``, ``a_1``), so no column hides another."""
    seen: dict[str, int] = {}
    result: list[str] = []
    for name in names:
        name = name.strip() or f"Column{len(result) + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 0
        result.append(name)
    return result


def _encoding(name: str) -> str:
    spellings = {"utf8": "utf-8", "iso88591": "latin-1", "latin1": "latin-1", "ascii": "ascii"}
    key = str(getattr(name, "name", name)).lower().replace("-", "").replace("_", "")
    if key not in spellings and key not in ("utf16", "windows1252"):
        raise UserErrorException(
            f"Unsupported encoding {name!r}: use 'utf8', 'iso88591', 'latin1', 'ascii', 'utf16' "
            "or 'windows1252'."
        )
    return spellings.get(key, {"utf16": "utf-16", "windows1252": "cp1252"}.get(key, key))
