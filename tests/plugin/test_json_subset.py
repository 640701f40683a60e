"""The ``expect_schema`` subset: what it checks, and the schemas it refuses."""

from __future__ import annotations

import re

import pytest

from emulator.validation.json_subset import SchemaError, check_schema, validate

PREDICTION = {
    "type": "object",
    "required": ["labels", "model"],
    "properties": {
        "labels": {"type": "array", "items": {"type": "integer"}},
        "model": {"type": ["string", "null"], "description": "name"},
        "score": {"type": "number"},
    },
}


def test_a_matching_answer_has_no_problems() -> None:
    check_schema(PREDICTION)
    assert validate({"labels": [0, 2.0], "model": None, "score": 1}, PREDICTION) == []


@pytest.mark.parametrize(
    "answer, problem",
    [
        ([0, 1], "$: expected object, got array [0, 1]"),
        (
            {"labels": [0], "model": "m", "score": True},
            "$.score: expected number, got boolean true",
        ),
        ({"labels": [0, "1"], "model": "m"}, '$.labels[1]: expected integer, got string "1"'),
        ({"labels": [0.5], "model": "m"}, "$.labels[0]: expected integer, got number 0.5"),
        ({"labels": []}, "$: missing required property 'model'"),
        ({"labels": [], "model": 3}, "$.model: expected string or null, got integer 3"),
    ],
)
def test_each_problem_is_located_and_explained(answer: object, problem: str) -> None:
    assert validate(answer, PREDICTION) == [problem]


@pytest.mark.parametrize(
    "schema, message",
    [
        ({"type": "array", "item": {}}, "uses 'item' (did you mean 'items'?)"),
        ({"type": "list"}, "expect_schema.type: 'list' is not a JSON type"),
        ({"type": "array", "minItems": 1}, "the supported subset is type, properties, items"),
        ({"properties": {"a": {"type": "float"}}}, "expect_schema.properties.a.type: 'float'"),
        ({"required": "a"}, "required must be a list of property names"),
        ([], "must be a mapping"),
    ],
)
def test_schemas_outside_the_subset_are_refused(schema: object, message: str) -> None:
    with pytest.raises(SchemaError, match=re.escape(message)):
        check_schema(schema)
