"""The small JSON-schema subset that spec files' ``expect_schema`` understands.

``type`` (a name or a list of names), ``properties``, ``items`` (one schema for every element)
and ``required``, plus the annotations ``title`` and ``description``: enough to say "a list of
integers" or "an object with a numeric ``score``" about a model's answer, without a dependency.
Any other keyword is refused when the spec is read, so a schema never silently checks less
than its author thinks.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

KEYWORDS = ("type", "properties", "items", "required")
ANNOTATIONS = ("title", "description")
TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")


class SchemaError(ValueError):
    """The schema itself is malformed or uses a keyword outside the subset."""


def check_schema(schema: Any, where: str = "expect_schema") -> None:
    """Raise :class:`SchemaError` naming the problem (and the fix) in ``schema``."""
    if not isinstance(schema, dict):
        raise SchemaError(f"{where} must be a mapping, not {json.dumps(schema)}")
    for key in schema:
        if key not in KEYWORDS and key not in ANNOTATIONS:
            close = difflib.get_close_matches(str(key), KEYWORDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SchemaError(
                f"{where} uses {key!r}{hint}; the supported subset is "
                f"{', '.join(KEYWORDS)} (and the annotations {', '.join(ANNOTATIONS)})."
            )
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        for name in names:
            if name not in TYPES:
                raise SchemaError(
                    f"{where}.type: {name!r} is not a JSON type; use one of {', '.join(TYPES)}."
                )
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        raise SchemaError(f"{where}.properties must map property names to schemas.")
    for name, subschema in properties.items():
        check_schema(subschema, f"{where}.properties.{name}")
    if "items" in schema:
        check_schema(schema["items"], f"{where}.items")
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise SchemaError(f"{where}.required must be a list of property names.")


def validate(instance: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Every way ``instance`` breaks ``schema`` (an already checked one), as readable lines."""
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(instance, name) for name in names):
            wanted = " or ".join(names)
            return [f"{path}: expected {wanted}, got {_type_name(instance)} {_short(instance)}"]
    problems: list[str] = []
    if isinstance(instance, dict):
        for name in schema.get("required", []):
            if name not in instance:
                problems.append(f"{path}: missing required property {name!r}")
        for name, subschema in schema.get("properties", {}).items():
            if name in instance:
                problems.extend(validate(instance[name], subschema, f"{path}.{name}"))
    if isinstance(instance, list) and "items" in schema:
        for index, item in enumerate(instance):
            problems.extend(validate(item, schema["items"], f"{path}[{index}]"))
    return problems


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        if isinstance(value, float):
            return value.is_integer()  # JSON has one number type: 2.0 is an integer
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return _type_name(value) == name


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
