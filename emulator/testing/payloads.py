"""Valid scoring payloads, generated from what a service knows about its input.

The schema gives the types; the example (the swagger's, or the sample you pass) gives what a
schema leaves open: the exact length of inner arrays (a model expects 4 features, not "some
numbers") and the types position by position in mixed rows. The outermost array of each
parameter is the batch dimension, so its length varies (1 to ``max_rows``). Strings keep the
example's value unless ``text`` says otherwise, because they are often categories a model only
knows by name. Numbers are finite and within ±1e6: huge and non-finite ones belong to
:func:`~emulator.testing.malformed_payloads`.
"""

from __future__ import annotations

import datetime
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from emulator.testing.sources import input_spec

MAGNITUDE = 1e6
_INT_FORMATS = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}
_DATES: dict[str, SearchStrategy[datetime.date | datetime.time]] = {
    "date-time": st.datetimes(),
    "date": st.dates(),
    "time": st.times(),
}


def payloads(
    source: Any, *, max_rows: int = 3, text: SearchStrategy[str] | None = None
) -> SearchStrategy[Any]:
    """Request bodies (JSON values) that a service should score: ``source`` is a deployed
    service (its swagger's ``inference_schema`` input schema), a swagger document, or a sample
    request body (a JSON value or JSON text) whose shape and types are kept."""
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, not {max_rows}")
    spec = input_spec(source)
    return _Generator(max_rows, text).body(spec.schema or {}, spec.example)


def json_type(schema: dict[str, Any], example: Any = None) -> str | None:
    """The JSON type a schema (or, without one, an example value) describes."""
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((kind for kind in declared if kind != "null"), "null")
    if declared:
        return str(declared)
    for kind, python in _PYTHON_TYPES:
        if isinstance(example, python):
            return kind
    return None


_PYTHON_TYPES: tuple[tuple[str, type | tuple[type, ...]], ...] = (
    ("boolean", bool),  # before integer: bool is an int
    ("integer", int),
    ("number", float),
    ("string", str),
    ("array", list),
    ("object", dict),
)


class _Generator:
    def __init__(self, max_rows: int, text: SearchStrategy[str] | None) -> None:
        self.max_rows = max_rows
        self.text = text

    def body(self, schema: dict[str, Any], example: Any) -> SearchStrategy[Any]:
        """The top level: an object's parameters, or an array, are batch dimensions."""
        if json_type(schema, example) == "object":
            return self._object(schema, example, batch=True)
        return self.value(schema, example, batch=True)

    def value(
        self, schema: dict[str, Any], example: Any, batch: bool = False
    ) -> SearchStrategy[Any]:
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        kind = json_type(schema, example)
        if kind == "object":
            return self._object(schema, example, batch=False)
        if kind == "array":
            return self._array(schema, example, batch)
        if kind == "string":
            return self._string(schema, example)
        if kind == "integer":
            return self._integer(schema)
        if kind == "number":
            return st.floats(
                schema.get("minimum", -MAGNITUDE),
                schema.get("maximum", MAGNITUDE),
                allow_nan=False,
                allow_infinity=False,
            )
        if kind == "boolean":
            return st.booleans()
        return st.just(example)

    def _object(self, schema: dict[str, Any], example: Any, batch: bool) -> SearchStrategy[Any]:
        examples = example if isinstance(example, dict) else {}
        properties = schema.get("properties") or {key: {} for key in examples}
        required = schema.get("required", list(properties))
        fields = {
            key: self.value(sub or {}, examples.get(key), batch) for key, sub in properties.items()
        }
        return st.fixed_dictionaries(
            {key: field for key, field in fields.items() if key in required},
            optional={key: field for key, field in fields.items() if key not in required},
        )

    def _array(self, schema: dict[str, Any], example: Any, batch: bool) -> SearchStrategy[Any]:
        items = schema.get("items") or {}
        if isinstance(items, list):  # a tuple schema
            return st.tuples(*(self.value(item, None) for item in items)).map(list)
        rows = example if isinstance(example, list) else []
        if batch:
            templates = [self.value(items, row) for row in rows] or [self.value(items, None)]
            return st.lists(st.one_of(templates), min_size=1, max_size=self.max_rows)
        if rows:  # an inner dimension: the example's length, position by position
            return st.tuples(*(self.value(items, row) for row in rows)).map(list)
        return st.lists(self.value(items, None), min_size=1, max_size=3)

    def _string(self, schema: dict[str, Any], example: Any) -> SearchStrategy[str]:
        dates = _DATES.get(schema.get("format", ""))
        if dates is not None:
            return dates.map(lambda moment: moment.isoformat())
        if self.text is not None:
            return self.text
        if isinstance(example, str):
            return st.just(example)
        return st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=12)

    def _integer(self, schema: dict[str, Any]) -> SearchStrategy[int]:
        low, high = _INT_FORMATS.get(schema.get("format", ""), (-(2**63), 2**63 - 1))
        low = max(low, int(schema.get("minimum", -MAGNITUDE)))
        high = min(high, int(schema.get("maximum", MAGNITUDE)))
        return st.integers(low, high)
