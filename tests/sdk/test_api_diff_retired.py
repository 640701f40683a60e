"""scripts/api_diff.py on members the SDK itself retired: a real member that only delegates to
``Owner._client().m(...)``, where ``m`` only calls a helper that raises (how azureml-core 1.61
retired the pre-1.0 ``Dataset`` API), refuses; a shim member marked ``__sdk_refuses__`` refuses
as well, which is no gap where the SDK refuses and is one where the SDK's member works."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "api_diff.py"

REAL = """
def _log_and_raise(api):
    print("[NOT_SUPPORTED_API_USE_ATTEMPT]", api)
    raise NotImplementedError(f"{api} is no longer supported.")


class _Client:
    @staticmethod
    def get(workspace, name=None):
        _log_and_raise("_Client.get")

    @staticmethod
    def head(definition, count):
        return definition[:count]


class Legacy:
    @staticmethod
    def _client():
        return _Client

    @staticmethod
    def get(workspace, name=None):
        return Legacy._client().get(workspace, name)

    def head(self, count):
        return Legacy._client().head(self, count)
"""

OURS = """
def retired(function):
    function.__sdk_refuses__ = "NotImplementedError: _Client.get is no longer supported"
    return function


class Legacy:
    @staticmethod
    @retired
    def get(workspace, name=None):
        raise NotImplementedError("_Client.get is no longer supported.")

    @retired
    def head(self, count):
        raise NotImplementedError("_Client.head is no longer supported.")
"""


@pytest.fixture(scope="module")
def api_diff() -> ModuleType:
    spec = importlib.util.spec_from_file_location("api_diff_retired_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _describe(api_diff: ModuleType, tmp_path: Path, name: str, source: str) -> dict[str, Any]:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        described: dict[str, Any] = api_diff.describe_modules([name], (name,))
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)
    return described[name]


def test_a_member_the_sdk_retired_is_matched_by_a_refusal(
    api_diff: ModuleType, tmp_path: Path
) -> None:
    real = _describe(api_diff, tmp_path, "toy_retired_real", REAL)
    members = real["classes"]["Legacy"]["members"]
    assert members["get"]["refuses"] == "NotImplementedError from _Client.get"
    assert "refuses" not in members["head"]  # its client member does something
    ours = _describe(api_diff, tmp_path, "toy_retired_ours", OURS)
    (legacy,) = api_diff.compare({"toy": real}, {"toy": ours})["classes"]
    assert "get" not in legacy["gaps"]  # refuses as the SDK does
    assert legacy["gaps"]["head"] == [
        "not emulated: always raises NotImplementedError: _Client.get is no longer supported"
    ]
    assert (legacy["real"], legacy["compatible"]) == (2, 1)
