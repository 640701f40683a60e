"""Hypothesis strategies for scoring payloads and the scoring-contract check.

Strategy tests draw from the swagger the scoring server generates for ``score_schema.py`` and
run every payload through the real, decorated ``run()``; contract tests deploy services (host
builder, process runtime) and must find the bug planted in ``score_planted_bug.py``.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from assets import ASSETS, load_asset_module
from hypothesis import given, settings
from hypothesis.strategies import SearchStrategy

from emulator import AciWebservice, AzureMock, InferenceConfig, Model, Webservice, Workspace
from emulator.server.config import ServerConfig
from emulator.server.swagger import build_documents
from emulator.testing import (
    MALFORMED_KINDS,
    ScoringContractViolation,
    check_scoring_contract,
    looks_like_exception,
    malformed_payloads,
    payloads,
)

TAXI_ROW = [1, 3, 4.71, 10, 5, 1, 1, "None", "False", 0, 2.0, 3.0, 60.0]


@pytest.fixture(autouse=True)
def fast_world(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")


@pytest.fixture(scope="module")
def schema_script() -> Any:
    return load_asset_module("scoring/server/score_schema.py")


@pytest.fixture(scope="module")
def swaggers(schema_script: Any) -> dict[str, Any]:
    """score_schema.py's swagger documents, as its server publishes them (versions 2 and 3)."""
    documents = build_documents(schema_script.run, ServerConfig.from_env({}))
    return {version: documents[version] for version in ("2", "3")}


def _draw(strategy: SearchStrategy[Any], count: int = 40) -> list[Any]:
    drawn: list[Any] = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None)
    @given(strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    collect()
    return drawn


def _deploy(ws: Workspace, workdir: Path, script: str, models: Sequence[Any] = ()) -> Webservice:
    shutil.copy(ASSETS / "scoring" / script, workdir / Path(script).name)
    config = InferenceConfig(entry_script=Path(script).name)
    name = Path(script).stem.replace("_", "-")
    service = Model.deploy(ws, name, list(models), config, AciWebservice.deploy_configuration())
    service.wait_for_deployment()
    return service


# -- valid payloads ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2", "3"])
def test_payloads_from_the_swagger_are_accepted_by_the_decorated_run(
    version: str, swaggers: dict[str, Any], schema_script: Any, iris_pickle: Path
) -> None:
    import joblib

    schema_script.model = joblib.load(iris_pickle)
    drawn = _draw(payloads(swaggers[version]))
    assert len({json.dumps(p) for p in drawn}) > 20  # they vary
    for payload in drawn:
        assert set(payload) == {"data", "GlobalParameters"}
        assert 1 <= len(payload["data"]) <= 3 and all(len(row) == 4 for row in payload["data"])
        assert all(math.isfinite(x) for row in payload["data"] for x in row)
        # inference_schema converts and checks the input (shape, dtype) before the model runs
        predictions = schema_script.run(**json.loads(json.dumps(payload)))
        assert len(predictions) == len(payload["data"])
    assert any(x < 0 for payload in drawn for row in payload["data"] for x in row)


def test_payloads_from_a_sample_keep_its_shape_and_types() -> None:
    for sample in ([TAXI_ROW], json.dumps([TAXI_ROW]), {"data": [TAXI_ROW]}):
        for payload in _draw(payloads(sample), 15):
            rows = payload["data"] if isinstance(payload, dict) else payload
            assert 1 <= len(rows) <= 3
            for row in rows:
                assert [type(value) for value in row] == [type(value) for value in TAXI_ROW]
                assert (row[7], row[8]) == ("None", "False")  # strings stay the sample's


def test_payloads_need_a_schema_or_a_sample(swaggers: dict[str, Any]) -> None:
    undecorated = build_documents(lambda data: data, ServerConfig.from_env({}))["2"]
    with pytest.raises(ValueError, match=re.escape("payloads(<sample request body>)")):
        payloads(undecorated)
    with pytest.raises(ValueError, match="must be JSON"):
        payloads("[[1, 2")
    with pytest.raises(ValueError, match="max_rows"):
        payloads(swaggers["2"], max_rows=0)


# -- malformed payloads --------------------------------------------------------------------------


def _refused_by_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return True
    return False


def _has_huge_number(body: bytes) -> bool:
    return b"1e999" in body or re.search(rb"1" + b"0" * 400, body) is not None


def _wrong_type(body: bytes) -> bool:
    value = json.loads(body)
    if not isinstance(value, dict) or not isinstance(value["data"], list):
        return True
    return any(not isinstance(row, list) or len(row) != 4 for row in value["data"]) or any(
        not isinstance(x, float | int) for row in value["data"] for x in row
    )


MALFORMED_CHECKS: dict[str, Callable[[bytes], bool]] = {
    "wrong_type": _wrong_type,
    "missing_keys": lambda body: "data" not in json.loads(body),
    "truncated": _refused_by_json,
    "non_utf8": lambda body: _raises(UnicodeDecodeError, body.decode, "utf-8"),
    "huge_number": _has_huge_number,
    "deep_nesting": lambda body: _nesting_depth(body) >= 2000,
}


def _nesting_depth(body: bytes) -> int:
    """How deep the arrays nest: over Python's default recursion limit (1000) the servers'
    ``json.loads`` raises RecursionError. Counted, not parsed, because Hypothesis raises the
    limit while it runs and another test in the process may leave it raised."""
    depth = deepest = 0
    for byte in body:
        if byte == ord("["):
            depth += 1
            deepest = max(deepest, depth)
        elif byte == ord("]"):
            depth -= 1
    return deepest


def _raises(error: type[BaseException], function: Callable[..., Any], *args: Any) -> bool:
    try:
        function(*args)
    except error:
        return True
    return False


@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_each_kind_of_malformed_payload_is_malformed(kind: str, swaggers: dict[str, Any]) -> None:
    drawn = _draw(malformed_payloads(swaggers["2"], kinds=[kind]), 15)
    assert all(isinstance(body, bytes) for body in drawn)
    assert all(MALFORMED_CHECKS[kind](body) for body in drawn), kind


def test_malformed_payloads_reject_unknown_kinds(swaggers: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="choose from"):
        malformed_payloads(swaggers["2"], kinds=["typo"])


# -- exception texts -----------------------------------------------------------------------------


def _message(function: Callable[[], Any]) -> str:
    try:
        function()
    except Exception as error:
        return str(error)
    raise AssertionError("expected an exception")


def test_exception_messages_are_recognized(iris_pickle: Path) -> None:
    import joblib

    model = joblib.load(iris_pickle)
    messages = [
        _message(lambda: float("abc")),
        _message(lambda: int("4.5")),
        _message(lambda: [][1]),
        _message(lambda: None.predict),  # type: ignore[attr-defined]
        _message(lambda: math.sqrt(-1)),
        _message(lambda: np.array([1, 2, 3]).reshape(-1, 13)),
        _message(lambda: model.predict(np.array([1.0, 2.0, 3.0, 4.0]))),
        _message(lambda: model.predict(np.array([[1.0, 2.0]]))),
        _message(lambda: json.loads("{")),
        _message(lambda: eval("undefined_name")),
    ]
    assert all(looks_like_exception(message) for message in messages), messages
    for answer in ("Healthy", "[1.0, 2.0]", "setosa", "The fare is 12.5 dollars", ""):
        assert not looks_like_exception(answer)


# -- the contract on deployed services -----------------------------------------------------------


def test_the_contract_check_finds_the_planted_bug(aml_workspace: Workspace, workdir: Path) -> None:
    service = _deploy(aml_workspace, workdir, "score_planted_bug.py")
    with pytest.raises(ScoringContractViolation) as found:
        check_scoring_contract(service, max_examples=30)
    message = str(found.value)
    assert "answered 200 with an exception message: 'math domain error'" in message
    assert "returns str(e)" in message
    # the shrunk payload that failed is in the message itself: a negative number
    assert re.search(r'request body: \{"data": \[\[[^\]]*-\d', message), message
    service.delete()


def test_a_correct_service_keeps_the_contract_through_the_mock(
    aml_workspace: Workspace, workdir: Path, iris_pickle: Path
) -> None:
    shutil.copy(iris_pickle, workdir / "model.pkl")
    model = Model.register(aml_workspace, "model.pkl", "iris")
    service = _deploy(aml_workspace, workdir, "server/score_schema.py", [model])
    with AzureMock(azure_uris=True):
        service.update_deployment_state()
        assert ".azurecontainer.io/" in service.scoring_uri
        check_scoring_contract(service, max_examples=15)
    service.delete()


def test_sample_payloads_for_an_undecorated_service(
    aml_workspace: Workspace, workdir: Path
) -> None:
    service = _deploy(aml_workspace, workdir, "score_echo.py")
    with pytest.raises(ValueError, match="not decorated"):
        check_scoring_contract(service)
    check_scoring_contract(service, payloads([TAXI_ROW]), malformed=False, max_examples=10)
    with pytest.raises(ScoringContractViolation, match="malformed payload was answered 200"):
        check_scoring_contract(service, payloads([TAXI_ROW]), max_examples=5)
    service.delete()
