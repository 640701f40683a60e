"""JSON scoring for the accelerated service's HTTP ``/score`` route (same model as gRPC).

Request bodies, as TF-Serving's REST API and Azure ML scoring scripts take them:

* ``{"inputs": {"<name>": [...], ...}}`` or ``{"inputs": [...]}`` (one input), columnar;
* ``{"instances": [...]}``: one row per instance (dicts of inputs for several inputs);
* ``{"data": [...]}``: Azure ML's usual body, for a model with one input.

Answers follow TF-Serving's REST API: ``{"outputs": ...}`` for ``inputs``/``data`` and
``{"predictions": [...]}`` for ``instances`` — the value itself for one output, else a dict per
output name. ``"output_filter": [...]`` (or ``"outputs"``) selects outputs. Errors are HTTP 400
with ``{"error": "<message>"}`` (500 for a failure inside the model).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from emulator.accel.session import InputError, OnnxModel, OutputError


def score_json(
    model: OnnxModel, body: bytes | str | Mapping[str, Any]
) -> tuple[int, dict[str, Any]]:
    """``(status, response document)`` for a JSON request body."""
    try:
        document = json.loads(body) if isinstance(body, (bytes, str)) else dict(body)
        if not isinstance(document, dict):
            raise InputError("The body must be a JSON object with 'inputs', 'instances' or 'data'.")
        feeds, row_format = _feeds(model, document)
        wanted = document.get("output_filter", document.get("outputs"))
        if isinstance(wanted, str):
            wanted = [wanted]
        results = model.run(feeds, wanted)
    except (InputError, OutputError, ValueError, TypeError) as exc:
        return 400, {"error": str(exc)}
    except Exception as exc:
        return 500, {"error": f"{type(exc).__name__}: {exc}"}
    values = {name: _jsonable(value) for name, value in results.items()}
    if row_format:
        if len(values) == 1:
            return 200, {"predictions": next(iter(values.values()))}
        count = len(next(iter(results.values())))
        rows = [{name: value[i] for name, value in values.items()} for i in range(count)]
        return 200, {"predictions": rows}
    return 200, {"outputs": next(iter(values.values())) if len(values) == 1 else values}


def _feeds(model: OnnxModel, document: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    keys = [k for k in ("inputs", "instances", "data") if k in document]
    if len(keys) != 1:
        raise InputError(
            "The body needs exactly one of 'inputs' (columnar), 'instances' (rows) or 'data'; "
            f"the model takes {model.signature()}."
        )
    key = keys[0]
    payload = document[key]
    if key == "instances":
        if not isinstance(payload, list):
            raise InputError("'instances' must be a list with one entry per row.")
        if payload and isinstance(payload[0], dict):
            return {n: [row[n] for row in payload] for n in payload[0]}, True
        return {_single_input(model, key): payload}, True
    if isinstance(payload, dict):
        return payload, False
    return {_single_input(model, key): payload}, False


def _single_input(model: OnnxModel, key: str) -> str:
    if len(model.input_names) != 1:
        raise InputError(
            f"'{key}' without input names needs a model with one input; this one takes "
            f'{", ".join(model.input_names)}: send {{"inputs": {{"<name>": ...}}}}.'
        )
    return model.input_names[0]


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist()) if value.dtype == np.dtype(object) else value.tolist()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
