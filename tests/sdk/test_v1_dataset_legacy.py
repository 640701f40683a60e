"""The pre-1.0 ``azureml.core.Dataset`` members through the shim, as azureml-core 1.61 has
them (measured: /tmp/notes/apidiff2.md): the constructor, the properties, ``Scenario`` and the
definitions of an unregistered dataset work; every other member logs the SDK's deprecation
warning (where it has one) and raises its ``NotImplementedError``. No workspace is needed: the
SDK fails before it would reach one."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulator import mock_aml
from emulator.sdk import dataset_legacy

DEPRECATION = "azureml.data._dataset_deprecation"
NOTICE = "See Dataset API change notice at https://aka.ms/dataset-deprecation."


@pytest.fixture(scope="module")
def Dataset(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``azureml.core.Dataset`` as users import it."""
    with mock_aml(root=tmp_path_factory.mktemp("legacy"), strict=False):
        from azureml.core import Dataset

        yield Dataset


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK warns once per target per process; each test starts as a new process would."""
    monkeypatch.setattr(dataset_legacy, "_WARNED", set())


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == DEPRECATION]


def test_the_constructor_and_the_properties_work_as_in_the_sdk(
    Dataset: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    definition = type("Definition", (), {"_version_id": "3"})()
    dataset = Dataset(definition, workspace="ws", name="iris", id=None)
    Dataset("again")  # warned once per process, as the SDK
    assert _warnings(caplog) == [
        "The constructor of Dataset is deprecated after version 1.0.69. Please use factory "
        'methods from "Dataset.Tabular" and "Dataset.File" to create dataset instances. ' + NOTICE
    ]
    assert (dataset.name, dataset.workspace, dataset.id) == ("iris", "ws", None)
    assert dataset.definition is definition and dataset.definition_version == "3"
    assert (dataset.is_visible, dataset.tags, dataset.description, dataset.state) == (
        True, {}, None, None,
    )  # fmt: skip
    assert dataset.get_definitions() == [definition]
    assert dataset.get_definition() is definition
    with pytest.raises(AttributeError, match="_version_id"):  # a str has none, as in the SDK
        _ = Dataset("csv").definition_version
    assert (Dataset.Scenario.TRAINING, Dataset.Scenario.VALIDATION) == ("training", "validation")
    assert Dataset.Scenario.INFERENCING == "inferencing"
    # The current API sits on the same class.
    assert Dataset.Tabular.from_delimited_files and Dataset.get_by_name


def test_a_registered_dataset_s_definitions_are_no_longer_supported(
    Dataset: Any,
) -> None:
    registered = Dataset(None, workspace="ws", name="iris", id="0f6a")
    with pytest.raises(NotImplementedError) as raised:
        _ = registered.definition
    assert (
        str(raised.value)
        == "_DatasetClient.get_dataset_definition is no longer supported. deprecated."
    )
    with pytest.raises(NotImplementedError, match=r"^_DatasetClient\.get_dataset_definitions is"):
        registered.get_definitions()
    with pytest.raises(NotImplementedError, match=r"^_DatasetClient\.get_dataset_definition is"):
        registered.get_definition("1")


def _legacy(Dataset: Any) -> Any:
    return Dataset("DEF", workspace="ws", name="iris", id="0f6a")


TABULAR = '"Dataset.Tabular.from_delimited_files" instead'
#: member call, the SDK client member it ends in, its deprecation warning (target, replacement).
CALLS: list[tuple[str, Callable[[Any, Any], Any], str, tuple[str, str] | None]] = [
    (
        "get",
        lambda D, ds: D.get("ws", name="iris"),
        "get",
        ('"Dataset.get"', '"Dataset.get_by_name" and "Dataset.get_by_id" to retrieve dataset'),
    ),
    (
        "list",
        lambda D, ds: D.list("ws"),
        "list",
        ('"Dataset.list"', '"Dataset.get_all" to retrieve datasets registered in the workspace'),
    ),
    (
        "from_pandas_dataframe",
        lambda D, ds: D.from_pandas_dataframe(None, in_memory=True),
        "from_pandas_dataframe",
        ('"Dataset.from_pandas_dataframe"', '"Dataset.Tabular.register_pandas_dataframe" instead'),
    ),
    (
        "from_delimited_files",
        lambda D, ds: D.from_delimited_files("a.csv", separator=";"),
        "from_delimited_files",
        ('"Dataset.from_delimited_files"', TABULAR),
    ),
    (
        "auto_read_files",
        lambda D, ds: D.auto_read_files("a.csv", include_path=True),
        "auto_read_files",
        ('"Dataset.auto_read_files"', TABULAR),
    ),
    (
        "from_parquet_files",
        lambda D, ds: D.from_parquet_files("a.parquet"),
        "from_parquet_files",
        ('"Dataset.from_parquet_files"', '"Dataset.Tabular.from_parquet_files" instead'),
    ),
    (
        "from_excel_files",
        lambda D, ds: D.from_excel_files("a.xlsx", sheet_name="s"),
        "from_excel_files",
        ('"Dataset.from_excel_files"', ""),
    ),
    (
        "from_binary_files",
        lambda D, ds: D.from_binary_files("a.bin"),
        "from_binary_files",
        ('"Dataset.from_binary_files"', '"Dataset.File.from_files" instead'),
    ),
    (
        "from_sql_query",
        lambda D, ds: D.from_sql_query(None, "select 1"),
        "from_sql_query",
        ('"Dataset.from_sql_query"', '"Dataset.Tabular.from_sql_query" instead'),
    ),
    (
        "from_json_files",
        lambda D, ds: D.from_json_files("a.json", flatten_nested_arrays=True),
        "from_json_files",
        (
            '"Dataset.from_json_files"',
            '"Dataset.Tabular.from_json_lines_files" to read from JSON lines file',
        ),
    ),
    ("register", lambda D, ds: ds.register("ws", "iris", exist_ok=True), "register", None),
    ("update", lambda D, ds: ds.update(description="d", visible=False), "update", None),
    (
        "update_definition",
        lambda D, ds: ds.update_definition("DEF2", "why"),
        "update_definition",
        None,
    ),
    ("to_pandas_dataframe", lambda D, ds: ds.to_pandas_dataframe(), "to_pandas_dataframe", None),
    ("to_spark_dataframe", lambda D, ds: ds.to_spark_dataframe(), "to_spark_dataframe", None),
    ("head", lambda D, ds: ds.head(3), "head", None),
    (
        "create_snapshot",
        lambda D, ds: ds.create_snapshot("s1", create_data_snapshot=True),
        "create_snapshot",
        None,
    ),
    ("get_snapshot", lambda D, ds: ds.get_snapshot("s1"), "get_snapshot", None),
    ("delete_snapshot", lambda D, ds: ds.delete_snapshot("s1"), "delete_snapshot", None),
    ("get_all_snapshots", lambda D, ds: ds.get_all_snapshots(), "get_all_snapshots", None),
    ("generate_profile", lambda D, ds: ds.generate_profile(arguments={}), "generate_profile", None),
    (
        "get_profile",
        lambda D, ds: ds.get_profile(generate_if_not_exist=False),
        "get_profile_with_state",
        None,
    ),
    ("deprecate", lambda D, ds: ds.deprecate("1b2c"), "deprecate", None),
    ("archive", lambda D, ds: ds.archive(), "archive", None),
    ("reactivate", lambda D, ds: ds.reactivate(), "reactivate", None),
    (
        "compare_profiles",
        lambda D, ds: ds.compare_profiles(ds, include_columns=["a"]),
        "compare_dataset_profiles",
        None,
    ),
    ("diff", lambda D, ds: ds.diff(ds, columns=["a"]), "compare_datasets", None),
    ("sample", lambda D, ds: ds.sample("top_n", {"n": 5}), "sample", None),
]


@pytest.mark.parametrize(
    ("call", "client", "warning"), [c[1:] for c in CALLS], ids=[c[0] for c in CALLS]
)
def test_each_retired_member_fails_as_in_the_sdk(
    Dataset: Any,
    caplog: pytest.LogCaptureFixture,
    call: Callable[[Any, Any], Any],
    client: str,
    warning: tuple[str, str] | None,
) -> None:
    caplog.set_level(logging.WARNING)
    legacy = _legacy(Dataset)  # the constructor's own warning, before the capture below
    caplog.clear()
    with pytest.raises(NotImplementedError) as raised:
        call(Dataset, legacy)
    assert str(raised.value) == f"_DatasetClient.{client} is no longer supported. deprecated."
    expected = []
    if warning is not None:
        target, replacement = warning
        please = f" Please use {replacement}." if replacement else ""
        expected = [f"{target} is deprecated after version 1.0.69.{please} {NOTICE}"]
    assert _warnings(caplog) == expected
    assert any(
        r.name == "azureml.data._dataset_client"
        and f"The [_DatasetClient.{client}] API has been deprecated" in r.getMessage()
        for r in caplog.records
    )


def test_a_call_the_sdk_would_refuse_is_a_type_error_first(Dataset: Any) -> None:
    with pytest.raises(TypeError):
        Dataset.from_delimited_files("a.csv", delimiter=";")
    with pytest.raises(TypeError):
        _legacy(Dataset).head()
