"""``Model.profile`` and ``azureml.core.profile.ModelProfile``, measured locally.

The profile runs in a background thread of this process (as Azure runs it in the service):
the inference configuration's environment is built by the configured builder
(``AZUREML_EMULATOR_BUILDER``: ``host`` uses this interpreter, otherwise a cached virtualenv),
init() runs once with the models laid out as in a container, and the requests are scored until
enough calls or seconds have passed (see :mod:`emulator.validation.profiling`). The result is
kept in ``<root>/workspaces/<id>/profiles/<name>.json``, so ``ModelProfile(ws, name)`` finds it
from any process.

``input_dataset`` is what the SDK takes: a registered ``TabularDataset`` with one column (each
value a request body) or, as an emulator addition, a ``FileDataset`` (each file a request body)
or a plain list of requests (strings sent as they are, other JSON values JSON-encoded).
``wait_for_completion`` does not raise on failure, as in the SDK: the
state is ``Failed`` and ``get_details()['error']`` says why.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from emulator.sdk.dataset_abstract import AbstractDataset
from emulator.sdk.dataset_tabular import TabularDataset
from emulator.sdk.exceptions import WebserviceException
from emulator.sdk.inference_config import InferenceConfig
from emulator.sdk.model import resolve_models
from emulator.sdk.workspace import Workspace
from emulator.settings import builder_name
from emulator.store.database import timestamp
from emulator.validation.profiling import CPU_RANGE, MEMORY_RANGE_GB, ProfilingFailed, profile
from emulator.validation.target import Sample

__all__ = ["ModelProfile"]

_TERMINAL = ("Succeeded", "Failed")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
_POLL_SECONDS = 0.1


class ModelProfile:
    """The result of ``Model.profile``: state, recommendations and latency percentiles."""

    def __init__(self, workspace: Workspace, name: str) -> None:
        data = _read(workspace, name)
        if data is None:
            raise WebserviceException(
                f"ModelProfile {name} not found in workspace {workspace.name}. [emulator] "
                "Profiles are created with Model.profile(...)."
            )
        self.workspace = workspace
        self._thread: threading.Thread | None = None
        self._load(data)

    def _load(self, data: dict[str, Any]) -> None:
        self._data = data
        self.name: str = data["name"]
        self.description: str | None = data.get("description")
        self.created_time = datetime.fromisoformat(data["createdTime"])
        self.state: str = data["state"]
        self.error: dict[str, Any] | None = data.get("error")
        self.requested_cpu: float | None = data.get("requestedCpu")
        self.requested_memory_in_gb: float | None = data.get("requestedMemoryInGB")
        self.recommended_cpu: float | None = data.get("recommendedCpu")
        self.recommended_memory: float | None = data.get("recommendedMemoryInGB")
        self.input_dataset_id: str | None = data.get("inputDatasetId")
        self.id: str | None = data.get("id")
        self.create_operation_id: str | None = data.get("id")
        self.parent_request_id: str | None = data.get("id")
        self.model_ids: list[str] | None = data.get("modelIds")
        self.environment: dict[str, Any] | None = data.get("environment")
        self.requested_queries_per_second: float | None = data.get("requestedQueriesPerSecond")
        self.error_logs_url: str | None = data.get("errorLogsUri")
        # What was measured (None until the profile has Succeeded).
        self.max_utilized_memory: float | None = data.get("maxUtilizedMemoryInGB")
        self.max_utilized_cpu: float | None = data.get("maxUtilizedCpu")
        self.measured_queries_per_second: float | None = data.get("measuredQueriesPerSecond")
        self.total_queries: int | None = data.get("totalQueries")
        self.success_queries: int | None = data.get("successQueries")
        self.success_rate: float | None = data.get("successRate")
        self.average_latency_in_ms: float | None = data.get("averageLatencyInMs")
        self.latency_percentile_50_in_ms: float | None = data.get("latencyPercentile50InMs")
        self.latency_percentile_90_in_ms: float | None = data.get("latencyPercentile90InMs")
        self.latency_percentile_95_in_ms: float | None = data.get("latencyPercentile95InMs")
        self.latency_percentile_99_in_ms: float | None = data.get("latencyPercentile99InMs")
        self.latency_percentile_999_in_ms: float | None = data.get("latencyPercentile999InMs")

    def wait_for_completion(self, show_output: bool = False) -> None:
        """Block until the profile has Succeeded or Failed."""
        while True:
            data = _read(self.workspace, self.name) or self._data
            if data["state"] in _TERMINAL:
                break
            if _owner_died(data):
                data = {**data, "state": "Failed", "error": _error("the profiling process exited")}
                break
            if show_output:
                print(".", end="", flush=True)
            if self._thread is not None:
                self._thread.join(_POLL_SECONDS)
            else:
                time.sleep(_POLL_SECONDS)
        self._load(data)
        if show_output:
            print(f'\nProfiling operation finished, operation "{self.state}"')
            if self.error:
                print(f"Profiling failed with\nMessage: {self.error['message']}")

    def get_details(self) -> dict[str, Any]:
        """Name, state, times, requested and recommended resources, latencies, error."""
        data = _read(self.workspace, self.name) or self._data
        return {key: value for key, value in data.items() if key != "ownerPid"}

    def serialize(self) -> dict[str, Any]:
        return {**self.get_details(), "workspaceName": self.workspace.name}

    def __repr__(self) -> str:
        return (
            f"ModelProfile(workspace={self.workspace.name}, name={self.name}, state={self.state})"
        )


def profile_models(
    workspace: Workspace,
    profile_name: str,
    models: Sequence[Any],
    inference_config: InferenceConfig,
    input_dataset: Any = None,
    cpu: float | None = None,
    memory_in_gb: float | None = None,
    description: str | None = None,
) -> ModelProfile:
    """Start profiling; the returned profile is ``Running`` until ``wait_for_completion``."""
    if not profile_name:
        raise WebserviceException("Error, need to specify profile_name.")
    if not _NAME.match(profile_name):
        raise WebserviceException(
            f"Invalid profile_name {profile_name!r}. [emulator] Use letters, digits, '-', '_' "
            "and '.', starting with a letter or digit."
        )
    _check_range("cpu", cpu, CPU_RANGE)
    _check_range("memory_in_gb", memory_in_gb, MEMORY_RANGE_GB)
    from emulator.sdk.accel import AccelInferenceConfig

    if isinstance(inference_config, AccelInferenceConfig):
        raise WebserviceException("Model profiling is not supported for Accelerated models.")
    if not isinstance(inference_config, InferenceConfig):
        raise WebserviceException(
            f"Invalid inference_config type {type(inference_config).__name__}: pass an "
            "InferenceConfig."
        )
    samples = _samples(input_dataset)
    request = inference_config._image_request(profile_name, resolve_models(workspace, models))
    environment = inference_config.environment
    data = {
        "name": profile_name,
        "id": str(uuid.uuid4()),
        "modelIds": [record.model_id for record in request.models],
        "environment": (
            None
            if environment is None
            else {"name": environment.name, "version": environment.version}
        ),
        "description": description,
        "createdTime": timestamp(),
        "state": "Running",
        "requestedCpu": cpu,
        "requestedMemoryInGB": memory_in_gb,
        "inputDatasetId": (
            input_dataset._ensure_saved(workspace)
            if isinstance(input_dataset, AbstractDataset)
            else None
        ),
        "error": None,
        "ownerPid": os.getpid(),
    }
    _write(workspace, data)
    mode = "host" if builder_name() == "host" else "venv"

    def work() -> None:
        try:
            figures = profile(
                request,
                samples,
                workspace.emulator_state.root,
                mode=mode,
                cpu=cpu,
                memory_in_gb=memory_in_gb,
            )
        except ProfilingFailed as exc:
            _write(workspace, {**data, "state": "Failed", "error": _error(str(exc))})
        except Exception as exc:  # a bug or an environment problem: still a Failed profile
            _write(
                workspace,
                {**data, "state": "Failed", "error": _error(f"{type(exc).__name__}: {exc}")},
            )
        else:
            _write(workspace, {**data, **figures, "state": "Succeeded"})

    result = ModelProfile(workspace, profile_name)
    result._thread = threading.Thread(target=work, name=f"amlemu-profile-{profile_name}")
    result._thread.start()
    return result


def _samples(input_dataset: Any) -> list[Sample]:
    if input_dataset is None:
        return []
    if isinstance(input_dataset, AbstractDataset):
        return _dataset_samples(input_dataset)
    if isinstance(input_dataset, (str, bytes)) or not isinstance(input_dataset, Sequence):
        raise WebserviceException(
            f"input_dataset must be a TabularDataset or FileDataset, not "
            f"{type(input_dataset).__name__}. [emulator] A list of request bodies works too."
        )
    if not input_dataset:
        raise WebserviceException("input_dataset must contain at least one request.")
    return [Sample.from_value(item, f"request {i}") for i, item in enumerate(input_dataset, 1)]


def _dataset_samples(dataset: AbstractDataset) -> list[Sample]:
    """A tabular dataset's rows (one column: each value a request body), as Azure profiles
    them; a file dataset's files, each file's content a request body."""
    if isinstance(dataset, TabularDataset):
        columns, rows = dataset._table()
        if len(columns) != 1:
            raise WebserviceException(
                f"The input dataset for profiling must have exactly one column, whose values are "
                f"the requests; it has {len(columns)}: {', '.join(columns)}. [emulator] Select "
                "it with dataset.keep_columns('<column>')."
            )
        bodies = [row[columns[0]] for row in rows]
    else:
        bodies = [data.local.read_bytes() for data in dataset._files()]
    if not bodies:
        raise WebserviceException("input_dataset must contain at least one request.")
    return [
        Sample.from_value(body if isinstance(body, (str, bytes)) else str(body), f"request {i}")
        for i, body in enumerate(bodies, 1)
    ]


def _check_range(name: str, value: float | None, bounds: tuple[float, float]) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WebserviceException(f"Invalid {name} value {value!r}: it must be a number.")
    if not bounds[0] <= value <= bounds[1]:
        raise WebserviceException(
            f"Expected {name} value is between {bounds[0]} and {bounds[1]}. Provided: {value}"
        )


def _error(message: str) -> dict[str, Any]:
    return {"code": "ProfilingFailed", "message": message}


def _path(workspace: Workspace, name: str) -> Path:
    directory = workspace.emulator_state.directory / "profiles"
    return directory / f"{name}.json"


def _read(workspace: Workspace, name: str) -> dict[str, Any] | None:
    try:
        return dict(json.loads(_path(workspace, name).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def _write(workspace: Workspace, data: dict[str, Any]) -> None:
    """Write-then-rename, so a reader in another process never sees half a file."""
    path = _path(workspace, data["name"])
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(temporary, path)


def _owner_died(data: dict[str, Any]) -> bool:
    if data["state"] in _TERMINAL:
        return False
    try:
        os.kill(int(data["ownerPid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, KeyError, ValueError):
        return False
    return False
