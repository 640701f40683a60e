"""A v1 dataset definition as an ``MLTable`` file's transformations, and back: how a registered
tabular dataset (or a file dataset with steps) is an ``mltable`` data asset for SDK v2, and how
an ``mltable`` asset created through SDK v2 reads back as a v1 dataset.

MLTable's ``read_delimited`` / ``read_json_lines`` / ``read_parquet`` carry the reading options;
``take``, ``skip``, ``keep_columns`` and ``drop_columns`` are MLTable steps of the same name.
``take_sample`` and ``random_split`` have no MLTable equivalent: the v2 face sees the data
before them (the v1 face keeps them).
"""

from __future__ import annotations

from typing import Any

STEPS = ("take", "skip", "keep_columns", "drop_columns")


def transformations(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """The MLTable transformations of ``definition``."""
    result: list[dict[str, Any]] = []
    read = definition.get("read")
    if read is not None:
        kind = read.get("format", "delimited")
        include_path = bool(read.get("include_path", False))
        if kind == "json_lines":
            options = {
                "encoding": read.get("encoding", "utf8"),
                "include_path_column": include_path,
                "invalid_lines": read.get("invalid_lines", "error"),
            }
            result.append({"read_json_lines": options})
        elif kind == "parquet":
            result.append({"read_parquet": {"include_path_column": include_path}})
        else:
            header = "all_files_same_headers" if read.get("header", True) else "no_header"
            options = {
                "delimiter": read.get("separator", ","),
                "header": header,
                "encoding": read.get("encoding", "utf8"),
                "empty_as_string": bool(read.get("empty_as_string", False)),
                "include_path_column": include_path,
                "support_multi_line": bool(read.get("support_multi_line", False)),
            }
            result.append({"read_delimited": options})
    result.extend({step[0]: step[1]} for step in definition["steps"] if step[0] in STEPS)
    return result


def definition(table: dict[str, Any], folder: str) -> dict[str, Any]:
    """The v1 definition of an MLTable file in the datastore folder ``folder``."""
    uris = [  # relative paths are relative to the MLTable's folder
        uri if "://" in uri else folder + uri.removeprefix("./")
        for uri in (str(next(iter(entry.values()))) for entry in table.get("paths") or [])
    ]
    read: dict[str, Any] | None = None
    steps: list[list[Any]] = []
    for transformation in table.get("transformations") or []:
        kind, value = next(iter(transformation.items()))
        value = value or {}
        common = {
            "encoding": value.get("encoding", "utf8") if isinstance(value, dict) else "utf8",
            "include_path": bool(value.get("include_path_column", False))
            if isinstance(value, dict)
            else False,
            "infer_column_types": True,
        }
        if kind == "read_delimited":
            read = {
                **common,
                "separator": value.get("delimiter", ","),
                "header": value.get("header", "all_files_same_headers") != "no_header",
                "empty_as_string": bool(value.get("empty_as_string", False)),
            }
        elif kind == "read_json_lines":
            read = {
                **common,
                "format": "json_lines",
                "invalid_lines": value.get("invalid_lines", "error"),
            }
        elif kind == "read_parquet":
            read = {**common, "format": "parquet"}
        elif kind in STEPS:
            steps.append([kind, value])
    return {"type": "Tabular" if read else "File", "uris": uris, "read": read, "steps": steps}
