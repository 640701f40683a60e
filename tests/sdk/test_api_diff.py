"""scripts/api_diff.py's comparison: two toy modules stand in for the real SDK and the shim
(offline, deterministic; the real run needs PyPI and is not part of the test suite)."""

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
class Widget:
    LIMIT = 3

    def __init__(self, name, size=1, **kwargs):
        self.name = name
        self._secret = 1

    @staticmethod
    def get(workspace, name, version=None):
        return None

    def save(self, path=None):
        return path

    def resize(self, width, height=10):
        return width

    def run(self, input):
        return input

    @property
    def label(self):
        return "x"

    def gone(self):
        return None

    def fetch(self, key):
        return {"key": key}

    def vacuum(self):
        return self.name

    def abstract(self):
        raise NotImplementedError

    def offline(self):
        return 1


class OnlyReal:
    pass
"""

OURS = """
class Widget:
    LIMIT = 3

    def __init__(self, name, size=1):
        self.name = name

    def get(self, name, version=None):
        return None

    def save(self, path):
        return path

    def resize(self, width, height=20):
        return width

    def run(self, input_data):
        return input_data

    def label(self):
        return "x"

    def fetch(self, key):
        raise KeyError(f"no {key} here: the cloud keeps it")

    def vacuum(self):
        'Nothing to clean.'
        return None

    def abstract(self):
        raise NotImplementedError

    @not_emulated("training runs need Azure")
    def offline(self):
        return 1
"""

MARKER = """
import functools


def not_emulated(reason):
    def decorate(function):
        @functools.wraps(function)
        def refuse(*args, **kwargs):
            raise RuntimeError(reason)

        refuse.__not_emulated__ = reason
        return refuse

    return decorate
"""


@pytest.fixture(scope="module")
def api_diff() -> ModuleType:
    spec = importlib.util.spec_from_file_location("api_diff_under_test", SCRIPT)
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


@pytest.fixture
def report(api_diff: ModuleType, tmp_path: Path) -> dict[str, Any]:
    real = _describe(api_diff, tmp_path, "toy_real_sdk", REAL)
    ours = _describe(api_diff, tmp_path, "toy_shim_sdk", MARKER + OURS)
    result: dict[str, Any] = api_diff.compare({"toy": real}, {"toy": ours})
    return result


def test_members_and_instance_attributes_are_read(api_diff: ModuleType, tmp_path: Path) -> None:
    real = _describe(api_diff, tmp_path, "toy_real_sdk", REAL)
    members = real["classes"]["Widget"]["members"]
    assert set(members) == {
        "LIMIT", "__init__", "get", "save", "resize", "run", "label", "gone", "name", "fetch",
        "vacuum", "abstract", "offline",
    }  # fmt: skip
    assert members["get"]["kind"] == "staticmethod"
    assert [p["name"] for p in members["get"]["params"]] == ["workspace", "name", "version"]
    assert members["label"]["kind"] == "property"
    assert members["save"]["params"] == [
        {"name": "path", "kind": "POSITIONAL_OR_KEYWORD", "has_default": True, "default": "None"}
    ]


def test_each_incompatibility_is_named(report: dict[str, Any]) -> None:
    (widget,) = report["classes"]
    gaps = widget["gaps"]
    assert gaps["gone"] == ["missing"]
    assert gaps["__init__"] == ["takes no **kwargs (the SDK does)"]
    assert gaps["get"] == [
        "an instance method here, a staticmethod in the SDK (called on the class)"
    ]
    assert gaps["save"] == ["'path' is required here, optional in the SDK"]
    assert gaps["resize"] == ["default of 'height' is 20 here, 10 in the SDK"]
    assert gaps["run"] == [
        "positional argument 1 is 'input_data' here, 'input' in the SDK",
        "no parameter 'input'",
        "'input_data' is required here; the SDK has no such parameter",
    ]
    assert gaps["label"] == ["a method here, a property in the SDK"]
    # Present with the SDK's signature, but doing nothing: not emulated, with the reason.
    assert gaps["fetch"] == ["not emulated: always raises KeyError: no  here: the cloud keeps it"]
    assert gaps["vacuum"] == ["not emulated: a placeholder (its body does nothing)"]
    assert gaps["offline"] == ["not emulated: training runs need Azure"]
    # Raising NotImplementedError as the SDK's own abstract member does is no gap.
    assert "abstract" not in gaps
    assert set(gaps) == {
        "gone", "__init__", "get", "save", "resize", "run", "label", "fetch", "vacuum", "offline",
    }  # fmt: skip


def test_counts_and_missing_classes(report: dict[str, Any], api_diff: ModuleType) -> None:
    (widget,) = report["classes"]
    assert (widget["class"], widget["real"], widget["present"], widget["compatible"]) == (
        "toy.Widget", 13, 12, 3,
    )  # fmt: skip
    assert report["totals"] == {
        "real": 13, "present": 12, "compatible": 3, "tested": 3, "not_emulated": 3,
        "percent_compatible": 23.1, "percent_tested": 23.1,
    }  # fmt: skip
    assert report["missing_classes"] == ["toy.OnlyReal"]
    text = api_diff.render(report)
    assert "toy.Widget.gone: missing" in text
    assert "toy.Widget.offline: not emulated: training runs need Azure" in text
    assert "compatible: 23.1% of the real members" in text


def test_members_no_test_reads_are_listed_untested(api_diff: ModuleType, tmp_path: Path) -> None:
    real = _describe(api_diff, tmp_path, "toy_real_sdk", REAL)
    ours = _describe(api_diff, tmp_path, "toy_shim_sdk", MARKER + OURS)
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_widget.py").write_text("w = Widget('a')\nw.abstract\n", encoding="utf-8")
    (tests / "test_other.py").write_text("LIMIT = thing.LIMIT\n", encoding="utf-8")
    report = api_diff.compare({"toy": real}, {"toy": ours}, api_diff.test_reader(tests))
    (widget,) = report["classes"]
    # LIMIT is read only in a file that never names Widget: untested.
    assert widget["untested"] == ["LIMIT", "name"]
    assert (widget["compatible"], widget["tested"]) == (3, 1)
    assert "toy.Widget: LIMIT, name" in api_diff.render(report)


def test_a_module_missing_on_one_side_is_reported_not_compared(api_diff: ModuleType) -> None:
    real = {"azureml.accel": {"error": "ModuleNotFoundError: No module named 'azureml.accel'"}}
    ours: dict[str, Any] = {"azureml.accel": {"classes": {}}}
    report = api_diff.compare(real, ours)
    assert report["classes"] == []
    assert report["unavailable_modules"] == {
        "azureml.accel": "ModuleNotFoundError: No module named 'azureml.accel'"
    }


def test_a_class_in_two_modules_is_compared_once_where_the_shim_has_it(
    api_diff: ModuleType,
) -> None:
    widget = {"origin": "sdk.core.Widget", "members": {"size": {"kind": "attribute"}}}
    ours_widget = {"origin": "emulator.Widget", "members": {"size": {"kind": "attribute"}}}
    real = {"sdk.a": {"classes": {"Widget": widget}}, "sdk.b": {"classes": {"Widget": widget}}}
    ours = {"sdk.a": {"classes": {}}, "sdk.b": {"classes": {"Widget": ours_widget}}}
    report = api_diff.compare(real, ours)
    assert [(c["class"], c["compatible"]) for c in report["classes"]] == [("sdk.b.Widget", 1)]
    assert report["missing_classes"] == ["sdk.a.Widget"]


def test_an_inherited_member_is_tested_through_the_class_that_defines_it(
    api_diff: ModuleType, tmp_path: Path
) -> None:
    source = """
class Base:
    def shared(self):
        return 1


class Child(Base):
    def __new__(cls):
        return object.__new__(Base)

    def __init__(self):
        pass
"""
    real = _describe(api_diff, tmp_path, "toy_real_sdk", source)
    ours = _describe(api_diff, tmp_path, "toy_shim_sdk", source)
    assert ours["classes"]["Child"]["members"]["shared"]["owner"] == "Base"
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_base.py").write_text("Base().shared()\n", encoding="utf-8")
    report = api_diff.compare({"toy": real}, {"toy": ours}, api_diff.test_reader(tests))
    child = next(c for c in report["classes"] if c["class"] == "toy.Child")
    # shared: reached through Base, which defines it; __init__ never runs (__new__), so an
    # empty body is no placeholder, but no test calls Child().
    assert (child["gaps"], child["untested"]) == ({}, ["__init__"])
