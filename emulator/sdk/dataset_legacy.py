"""The pre-1.0 ``azureml.core.Dataset`` API (``Dataset(definition)``, ``Dataset.get``,
``Dataset.from_delimited_files``, snapshots, profiles...), as azureml-core 1.61 has it: dead.

Measured against the real SDK (``/tmp/apidiff2/probe.py`` in the api-diff virtualenv, see the
unit's notes): in 1.61 every one of these members ends in ``_DatasetClient.<method>``, whose
whole body is ``_log_not_supported_api_usage_and_raise``, so the call logs
``[NOT_SUPPORTED_API_USE_ATTEMPT] ...`` and raises ``NotImplementedError("_DatasetClient.<method>
is no longer supported. deprecated.")``, after the one-time deprecation warning of the members
that carry one. Only the constructor, the plain properties, ``Scenario`` and
``get_definition(s)`` of a dataset without an id still work. Emulating that (rather than a
working legacy API) keeps the promise of the emulator: code that passes here passes on Azure;
a notebook still on the old API fails here as it fails there, with the SDK's words, and its
deprecation warning names the replacement (``Dataset.Tabular.from_delimited_files``...).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, NoReturn

__all__ = ["REFUSES", "LegacyDataset"]

#: The attribute that tells scripts/api_diff.py "refuses, as the SDK's own member does".
REFUSES = "__sdk_refuses__"

#: The SDK's loggers: the deprecation warning and the not-supported trace go where they go there.
_DEPRECATION_LOGGER = logging.getLogger("azureml.data._dataset_deprecation")
_CLIENT_LOGGER = logging.getLogger("azureml.data._dataset_client")

#: Targets already warned about: the SDK warns once per target per process.
_WARNED: set[str] = set()

_DOC = "See Dataset API change notice at https://aka.ms/dataset-deprecation."


def warn_deprecated(target: str, replacement: str | None = None) -> None:
    """The SDK's ``_warn_deprecation``: '<target> is deprecated after version 1.0.69. ...',
    once per target."""
    if target in _WARNED:
        return
    message = f"{target} is deprecated after version 1.0.69."
    if replacement:
        message += f" Please use {replacement}."
    _DEPRECATION_LOGGER.warning(f"{message} {_DOC}")
    _WARNED.add(target)


def _no_longer_supported(client_method: str) -> NoReturn:
    """What ``_DatasetClient.<client_method>`` does in azureml-core 1.61."""
    api = f"_DatasetClient.{client_method}"
    _CLIENT_LOGGER.error(
        f"[NOT_SUPPORTED_API_USE_ATTEMPT] The [{api}] API has been deprecated and is no longer "
        "supported"
    )
    raise NotImplementedError(f"{api} is no longer supported. deprecated.")


def removed(
    client_method: str, target: str | None = None, replacement: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., NoReturn]]:
    """The member keeps the SDK's signature (a call the SDK would refuse is a TypeError), warns
    as the SDK's ``@deprecated(target, replacement)`` does when it has one, and raises what the
    SDK's client raises."""

    def decorate(function: Callable[..., Any]) -> Callable[..., NoReturn]:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def refuse(*args: Any, **kwargs: Any) -> NoReturn:
            signature.bind(*args, **kwargs)
            if target is not None:
                warn_deprecated(target, replacement)
            _no_longer_supported(client_method)

        setattr(
            refuse,
            REFUSES,
            f"NotImplementedError: _DatasetClient.{client_method} is no longer supported",
        )
        return refuse

    return decorate


_TABULAR = '"Dataset.Tabular.from_delimited_files" instead'


class LegacyDataset:
    """The members ``azureml.core.Dataset`` kept from before 1.0.69 (its newer ones, the
    factories and ``get_by_name``..., are on :class:`emulator.sdk.dataset.Dataset`)."""

    class Scenario:
        """What a dataset is used for (``Model.register(datasets=[(Scenario.TRAINING, ds)])``)."""

        TRAINING = "training"
        VALIDATION = "validation"
        INFERENCING = "inferencing"

    def __init__(
        self, definition: Any, workspace: Any = None, name: str | None = None, id: str | None = None
    ) -> None:
        """Works, as in the SDK (with its deprecation warning); nothing can be done with the
        object but read it back."""
        warn_deprecated(
            "The constructor of Dataset",
            'factory methods from "Dataset.Tabular" and "Dataset.File" to create dataset instances',
        )
        self._definition = definition
        self._workspace = workspace
        self._name = name
        self._id = id
        self._is_visible = True
        self._tags: dict[str, str] = {}
        self._description: str | None = None
        self._state: str | None = None

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def workspace(self) -> Any:
        return self._workspace

    @property
    def id(self) -> str | None:
        return self._id

    @property
    def definition(self) -> Any:
        """The definition it was built with; a registered one (with an id) would be fetched
        from the service, which the SDK no longer supports."""
        if self._definition is None and self.id is not None:
            self._definition = self.get_definition()
        return self._definition

    @property
    def definition_version(self) -> Any:
        """The definition's ``_version_id`` (an AttributeError for a definition without one,
        as in the SDK)."""
        if self.definition is None:
            return None
        return self.definition._version_id

    @property
    def is_visible(self) -> bool:
        return self._is_visible

    @property
    def tags(self) -> dict[str, str]:
        return self._tags

    @property
    def description(self) -> str | None:
        return self._description

    @property
    def state(self) -> str | None:
        return self._state

    def get_definitions(self) -> list[Any]:
        """``[definition]`` for an unregistered dataset; a registered one's history is the
        service's, which no longer answers."""
        if self.id is None:
            return [self.definition]
        _no_longer_supported("get_dataset_definitions")

    def get_definition(self, version_id: str | None = None) -> Any:
        """The definition of an unregistered dataset (see ``get_definitions``)."""
        if self.id is None:
            return self.definition
        _no_longer_supported("get_dataset_definition")

    @staticmethod
    @removed(
        "get", '"Dataset.get"', '"Dataset.get_by_name" and "Dataset.get_by_id" to retrieve dataset'
    )
    def get(workspace: Any, name: str | None = None, id: str | None = None) -> Any: ...

    @staticmethod
    @removed(
        "list",
        '"Dataset.list"',
        '"Dataset.get_all" to retrieve datasets registered in the workspace',
    )
    def list(workspace: Any) -> Any: ...

    @staticmethod
    @removed(
        "from_pandas_dataframe",
        '"Dataset.from_pandas_dataframe"',
        '"Dataset.Tabular.register_pandas_dataframe" instead',
    )
    def from_pandas_dataframe(dataframe: Any, path: Any = None, in_memory: bool = False) -> Any: ...

    @staticmethod
    @removed("from_delimited_files", '"Dataset.from_delimited_files"', _TABULAR)
    def from_delimited_files(
        path: Any,
        separator: str = ",",
        header: Any = None,
        encoding: Any = None,
        quoting: bool = False,
        infer_column_types: bool = True,
        skip_rows: int = 0,
        skip_mode: Any = None,
        comment: str | None = None,
        include_path: bool = False,
        archive_options: Any = None,
        partition_format: str | None = None,
    ) -> Any: ...

    @staticmethod
    @removed("auto_read_files", '"Dataset.auto_read_files"', _TABULAR)
    def auto_read_files(
        path: Any, include_path: bool = False, partition_format: str | None = None
    ) -> Any: ...

    @staticmethod
    @removed(
        "from_parquet_files",
        '"Dataset.from_parquet_files"',
        '"Dataset.Tabular.from_parquet_files" instead',
    )
    def from_parquet_files(
        path: Any, include_path: bool = False, partition_format: str | None = None
    ) -> Any: ...

    @staticmethod
    @removed("from_excel_files", '"Dataset.from_excel_files"')
    def from_excel_files(
        path: Any,
        sheet_name: str | None = None,
        use_column_headers: bool = False,
        skip_rows: int = 0,
        include_path: bool = False,
        infer_column_types: bool = True,
        partition_format: str | None = None,
    ) -> Any: ...

    @staticmethod
    @removed(
        "from_binary_files", '"Dataset.from_binary_files"', '"Dataset.File.from_files" instead'
    )
    def from_binary_files(path: Any) -> Any: ...

    @staticmethod
    @removed(
        "from_sql_query", '"Dataset.from_sql_query"', '"Dataset.Tabular.from_sql_query" instead'
    )
    def from_sql_query(data_source: Any, query: str) -> Any: ...

    @staticmethod
    @removed(
        "from_json_files",
        '"Dataset.from_json_files"',
        '"Dataset.Tabular.from_json_lines_files" to read from JSON lines file',
    )
    def from_json_files(
        path: Any,
        encoding: Any = None,
        flatten_nested_arrays: bool = False,
        include_path: bool = False,
        partition_format: str | None = None,
    ) -> Any: ...

    @removed("register")
    def register(
        self,
        workspace: Any,
        name: str,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        visible: bool = True,
        exist_ok: bool = False,
        update_if_exist: bool = False,
    ) -> Any: ...

    @removed("update")
    def update(
        self,
        name: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        visible: bool | None = None,
    ) -> Any: ...

    @removed("update_definition")
    def update_definition(self, definition: Any, definition_update_message: str) -> Any: ...

    @removed("to_pandas_dataframe")
    def to_pandas_dataframe(self) -> Any: ...

    @removed("to_spark_dataframe")
    def to_spark_dataframe(self) -> Any: ...

    @removed("head")
    def head(self, count: int) -> Any: ...

    @removed("create_snapshot")
    def create_snapshot(
        self,
        snapshot_name: str,
        compute_target: Any = None,
        create_data_snapshot: bool = False,
        target_datastore: Any = None,
    ) -> Any: ...

    @removed("get_snapshot")
    def get_snapshot(self, snapshot_name: str) -> Any: ...

    @removed("delete_snapshot")
    def delete_snapshot(self, snapshot_name: str) -> Any: ...

    @removed("get_all_snapshots")
    def get_all_snapshots(self) -> Any: ...

    @removed("generate_profile")
    def generate_profile(
        self, compute_target: Any = None, workspace: Any = None, arguments: Any = None
    ) -> Any: ...

    @removed("get_profile_with_state")
    def get_profile(
        self,
        arguments: Any = None,
        generate_if_not_exist: bool = True,
        workspace: Any = None,
        compute_target: Any = None,
    ) -> Any: ...

    @removed("deprecate")
    def deprecate(self, deprecate_by_dataset_id: str) -> Any: ...

    @removed("archive")
    def archive(self) -> Any: ...

    @removed("reactivate")
    def reactivate(self) -> Any: ...

    @removed("compare_dataset_profiles")
    def compare_profiles(
        self,
        rhs_dataset: Any,
        profile_arguments: Any = None,
        include_columns: Any = None,
        exclude_columns: Any = None,
        histogram_compare_method: Any = None,
    ) -> Any: ...

    @removed("compare_datasets")
    def diff(self, rhs_dataset: Any, compute_target: Any = None, columns: Any = None) -> Any: ...

    @removed("sample")
    def sample(self, sample_strategy: str, arguments: dict[str, Any]) -> Any: ...
