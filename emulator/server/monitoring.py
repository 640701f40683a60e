"""``azureml.monitoring``: ``ModelDataCollector``, the collector scoring scripts call.

Written after ``azureml-monitoring`` 0.1.0a21 (its Python source and the strings of its native
library; see :mod:`emulator.server.model_data` for the paths and variables). Azure's collector
hands rows to a native library that uploads them to blob storage; this one appends the same CSV
rows to files laid out as those blobs (:data:`~emulator.server.model_data.DATA_DIR`). What a
script observes is Azure's:

- without ``AML_MODEL_DC_STORAGE_ENABLED=true`` (a deployment without ``collect_model_data=True``)
  the constructor prints Azure's "Data collection is not enabled" line and ``collect()``
  returns ``None`` having written nothing;
- the ``inputs`` designation appends Azure's correlation columns after the features
  (``$aml_dc_correlation_id``, ``$aml_dc_scoring_timestamp``, ``$aml_dc_boundary``,
  ``$aml_workspace``, ``$aml_service_name``, ``$aml_model_name``, ``$aml_model_version``,
  ``$aml_request_id``) and ``collect()`` returns them as a dict, which ``add_correlations``
  appends to a prediction row;
- the header (feature names, then those columns) is the first line of every file;
- ``AML_MODEL_DC_DEBUG=true`` prints each collected block, as Azure's debug mode does.

The request id column is Azure's all-zero id: azmlinfsrv runs ``run()`` outside a Flask request
that carries ``REQUEST_ID``. Lists, numpy arrays and pandas DataFrames are accepted (Spark
DataFrames are converted with ``toPandas()`` as Azure does); anything else gets Azure's warning.
Several worker processes append to one file: each block is one ``O_APPEND`` write, and a new
file appears with its header already in it (written aside, then linked into place). A collector
keeps each of its files open (one per destination: the next day's replaces the last) and writes
each block straight to it, unbuffered, so readers see every row as soon as ``collect()``
returns; the files are closed when the collector goes or the process exits.
"""

from __future__ import annotations

import csv
import datetime
import io
import os
import sys
import threading
import uuid
import warnings
import weakref
from pathlib import Path
from typing import Any

from emulator.server import model_data
from emulator.server.config import APP_ROOT, DEFAULT_APP_ROOT, SERVICE_NAME

__all__ = ["ModelDataCollector"]

_HELP = "http://aka.ms/amlmodeldatacollection"
_ZERO_REQUEST_ID = "00000000-0000-0000-0000-000000000000"
_DAY_MINUTES = 60 * 24
_TYPE_WARNING = (
    "collect failed: input data must be list,numpy array, pandas dataframe, or spark "
    "dataframe. Corresponding modules must be installed first."
)


class ModelDataCollector:
    """Collects a model's inputs, predictions (or labels, signals) of an AKS/ACI service."""

    AML_DC_CORRELATION_HEADER = "$aml_dc_correlation_id"
    AML_DC_SCORING_TIMESTAMP_HEADER = "$aml_dc_scoring_timestamp"
    AML_DC_BOUNDARY_HEADER = "$aml_dc_boundary"
    AML_WORKSPACE_HEADER = "$aml_workspace"
    AML_SERVICE_NAME_HEADER = "$aml_service_name"
    AML_MODEL_NAME_HEADER = "$aml_model_name"
    AML_MODEL_VERSION_HEADER = "$aml_model_version"
    AML_REQUEST_ID_HEADER = "$aml_request_id"
    _CORRELATION_HEADERS = (
        AML_DC_CORRELATION_HEADER,
        AML_DC_SCORING_TIMESTAMP_HEADER,
        AML_DC_BOUNDARY_HEADER,
        AML_WORKSPACE_HEADER,
        AML_SERVICE_NAME_HEADER,
        AML_MODEL_NAME_HEADER,
        AML_MODEL_VERSION_HEADER,
        AML_REQUEST_ID_HEADER,
    )

    def __init__(
        self,
        model_name: str,
        designation: str = "default",
        feature_names: list[str] | None = None,
        workspace: str = "default/default/default",
        webservice_name: str = "default",
        model_version: str = "default",
        collection_name: str = "default",
    ) -> None:
        self.model_name = model_name
        self._feature_names = list(feature_names) if feature_names is not None else None
        self._correlation_headers: list[str] = []
        self._cloud_enabled = os.environ.get(model_data.STORAGE_ENABLED) == "true"
        self._debug = os.environ.get(model_data.DEBUG, "").lower() == "true"
        self._active = False
        self._data_dir: Path | None = None
        self._files = _OpenFiles()
        weakref.finalize(self, self._files.close)
        if self._debug:
            print(
                "Data collection is in debug mode. Set environment variable "
                f"{model_data.STORAGE_ENABLED} to 'true' to send data to the cloud ({_HELP})."
            )
        elif not self._cloud_enabled:
            print(
                "Data collection is not enabled. Set environment variable "
                f"{model_data.STORAGE_ENABLED} to 'true' to enable ({_HELP})."
            )
            return
        if designation == "default":
            designation = "general"
        if designation not in model_data.DESIGNATIONS:
            print(
                "Incorrect designation value. Supported values: 'default', 'inputs', "
                "'predictions', 'labels', 'signals', 'general'"
            )
            return
        self._designation = designation
        if workspace == "default/default/default":
            workspace = os.environ.get(model_data.WORKSPACE) or workspace
        self.workspace = workspace.lower()
        if webservice_name == "default":
            webservice_name = (
                os.environ.get(SERVICE_NAME) or os.environ.get(model_data.SERVICE) or "default"
            )
        self.service_name = webservice_name
        self.model_version = (
            _latest_model_version(model_name) if model_version == "default" else model_version
        ) or model_version
        self.collection_name = collection_name
        self.aml_dc_hour_boundary = os.environ.get(model_data.BOUNDARY) == "hour"
        if self._cloud_enabled:
            folder = os.environ.get(model_data.DATA_DIR)
            if not folder:
                warnings.warn(
                    f"initialize failed: environment variable {model_data.STORAGE} must be set "
                    f"to an Azure storage connection string ({_HELP}). [emulator] Services "
                    "deployed with collect_model_data=True get it; a standalone server needs "
                    f"{model_data.DATA_DIR} set to the folder to write into.",
                    stacklevel=2,
                )
                return
            self._data_dir = Path(folder)
        if designation == "inputs":
            self._add_correlation_headers()
        self._active = True

    # -- the SDK's calls -------------------------------------------------------------------------

    def collect(self, input_data: Any, user_correlation_id: str = "") -> dict[str, Any] | None:
        """Append ``input_data`` (a row, or rows) to the designation's file of today; for the
        inputs designation, return the correlation values added to it."""
        if not self._active:
            return None
        correlation = None
        if self._designation == "inputs":
            correlation = self._generated_fields(user_correlation_id)
            input_data = self.add_correlations(input_data, correlation)
        if _is_spark(input_data):
            input_data = input_data.toPandas()
        if isinstance(input_data, list):
            header, rows = self._headers(), [input_data]
        elif _is_numpy(input_data):
            header = self._headers()
            rows = [list(input_data)] if input_data.ndim == 1 else [list(r) for r in input_data]
        elif _is_pandas(input_data):
            header = [str(column) for column in input_data.columns]
            rows = input_data.values.tolist()
        else:
            warnings.warn(_TYPE_WARNING, stacklevel=2)
            return None
        for destination, when, block in self._route(header, rows):
            self._write(destination, when, header, block)
        return correlation

    def add_correlations(self, input_data: Any, correlations: dict[str, Any] | None) -> Any:
        """``input_data`` with the correlation values ``collect()`` returned appended to each
        row (a list, numpy array or pandas DataFrame)."""
        if correlations is None:
            return input_data
        self._add_correlation_headers()
        values = [correlations[header] for header in self._CORRELATION_HEADERS]
        if isinstance(input_data, list):
            return input_data + values
        if _is_numpy(input_data):
            numpy = sys.modules["numpy"]
            rows = input_data if input_data.ndim > 1 else numpy.array([input_data])
            extra = numpy.repeat(numpy.array([values], dtype=object), rows.shape[0], axis=0)
            return numpy.append(rows, extra, axis=1)
        if _is_spark(input_data):
            input_data = input_data.toPandas()
        if _is_pandas(input_data):
            frame = input_data.copy(deep=False)
            for offset, (header, value) in enumerate(
                zip(self._CORRELATION_HEADERS, values, strict=True)
            ):
                frame.insert(len(input_data.columns) + offset, header, value)
            return frame
        warnings.warn(_TYPE_WARNING, stacklevel=2)
        return input_data

    # -- rows to files ---------------------------------------------------------------------------

    def _headers(self) -> list[str] | None:
        if self._feature_names is None:
            return None
        return self._feature_names + self._correlation_headers

    def _add_correlation_headers(self) -> None:
        if not self._correlation_headers:
            self._correlation_headers = list(self._CORRELATION_HEADERS)

    def _generated_fields(self, correlation_id: str) -> dict[str, Any]:
        generated = str(uuid.uuid4())
        return {
            self.AML_DC_SCORING_TIMESTAMP_HEADER: _utcnow().isoformat(),
            self.AML_REQUEST_ID_HEADER: _ZERO_REQUEST_ID,
            self.AML_DC_CORRELATION_HEADER: (
                f"{correlation_id}-{generated}" if correlation_id else generated
            ),
            self.AML_DC_BOUNDARY_HEADER: 60 if self.aml_dc_hour_boundary else _DAY_MINUTES,
            self.AML_WORKSPACE_HEADER: self.workspace,
            self.AML_SERVICE_NAME_HEADER: self.service_name,
            self.AML_MODEL_NAME_HEADER: self.model_name,
            self.AML_MODEL_VERSION_HEADER: self.model_version,
        }

    def _route(
        self, header: list[str] | None, rows: list[list[Any]]
    ) -> list[tuple[model_data.Destination, datetime.datetime, list[list[Any]]]]:
        """Rows grouped by the file they go to: a row carrying correlation columns (a
        prediction after ``add_correlations``) goes where its own values say (workspace,
        service, model, version, scoring day), as Azure's collector files it; others to this
        collector's file of today."""
        own = model_data.Destination(
            self.workspace,
            self.service_name,
            self.model_name,
            str(self.model_version),
            self._designation,
            self.collection_name,
        )
        now = _utcnow()
        correlated = self._designation != "inputs" and header is not None
        if not correlated or self.AML_DC_SCORING_TIMESTAMP_HEADER not in (header or []):
            return [(own, now, rows)]
        assert header is not None
        groups: dict[tuple[model_data.Destination, datetime.datetime], list[list[Any]]] = {}
        for row in rows:
            field = dict(zip(header, row, strict=False))  # a short row lacks the last columns
            destination = model_data.Destination(
                str(field.get(self.AML_WORKSPACE_HEADER, self.workspace)),
                str(field.get(self.AML_SERVICE_NAME_HEADER, self.service_name)),
                str(field.get(self.AML_MODEL_NAME_HEADER, self.model_name)),
                str(field.get(self.AML_MODEL_VERSION_HEADER, self.model_version)),
                self._designation,
                self.collection_name,
            )
            when = _parse_timestamp(field.get(self.AML_DC_SCORING_TIMESTAMP_HEADER)) or now
            groups.setdefault((destination, when), []).append(row)
        return [(destination, when, block) for (destination, when), block in groups.items()]

    def _write(
        self,
        destination: model_data.Destination,
        when: datetime.datetime,
        header: list[str] | None,
        rows: list[list[Any]],
    ) -> None:
        data = _csv(rows)
        if self._debug:
            print((_csv([header]) if header else "") + data, end="")
        if self._data_dir is None:
            return
        path = self._data_dir / destination.blob_path(when, self.aml_dc_hour_boundary)
        self._files.append(destination, path, _csv([header]) if header else "", data.encode())


class _OpenFiles:
    """The files one collector appends to, kept open by destination (thread-safe: a script's
    ``run()`` may be called from several threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[model_data.Destination, tuple[Path, int]] = {}

    def append(
        self, destination: model_data.Destination, path: Path, header: str, data: bytes
    ) -> None:
        """Write ``data`` at the end of ``path`` in one ``O_APPEND`` write; a file that is
        not there (new, or removed since it was opened) first appears with ``header``."""
        with self._lock:
            os.write(self._descriptor(destination, path, header), data)

    def _descriptor(self, destination: model_data.Destination, path: Path, header: str) -> int:
        held = self._open.pop(destination, None)
        if held is not None:
            if held[0] == path and os.fstat(held[1]).st_nlink:  # still the file at ``path``
                self._open[destination] = held
                return held[1]
            os.close(held[1])  # another day's file, or removed
        if not path.exists():
            _create_with_header(path, header)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        self._open[destination] = (path, fd)
        return fd

    def close(self) -> None:
        with self._lock:
            for _, fd in self._open.values():
                os.close(fd)
            self._open.clear()


def _create_with_header(path: Path, header: str) -> None:
    """Make ``path`` appear holding ``header`` only, or leave another writer's file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    staging.write_text(header, encoding="utf-8")
    try:
        os.link(staging, path)
    except FileExistsError:
        pass  # another worker created it first: its header is already there
    finally:
        staging.unlink()


def _csv(rows: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _parse_timestamp(value: Any) -> datetime.datetime | None:
    for pattern in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.datetime.strptime(str(value), pattern)
        except ValueError:
            continue
    return None


def _latest_model_version(model_name: str) -> str | None:
    """The highest version of ``model_name`` the image carries (Azure reads it from
    ``model_config_map.json``'s ``modelsInfo``)."""
    folder = Path(os.environ.get(APP_ROOT, DEFAULT_APP_ROOT)) / "azureml-models" / model_name
    versions = [p.name for p in folder.iterdir() if p.name.isdigit()] if folder.is_dir() else []
    return max(versions, key=int) if versions else None


def _is_numpy(data: Any) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(data, numpy.ndarray)


def _is_pandas(data: Any) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(data, pandas.DataFrame)


def _is_spark(data: Any) -> bool:
    sql = sys.modules.get("pyspark.sql")
    return sql is not None and isinstance(data, sql.DataFrame)
