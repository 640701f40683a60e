"""No-code Triton deployments: a model registered as ``triton_model`` (a Triton model
repository), deployed without a scoring script or environment, served with Triton's V2 protocol
on ONNX Runtime.

Azure deploys a ``triton_model`` with neither ``code_configuration`` nor ``environment`` onto
its Triton image; the endpoint's scoring URI base then answers ``/v2/...``. Here the model's
files are materialized under the deployment's work folder and loaded by
:class:`~emulator.server.triton.app.TritonServer` in the process serving the scoring URI (the
ARM face), which answers the V2 routes in-process; the server is kept per deployment in this
module's table and dropped when the deployment is deleted or replaced. A repository Triton
would refuse (a backend other than ONNX, no version, a config that does not match its graph)
fails the deployment with the reason.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.endpoints.deployments import DeploymentRecord
from emulator.exceptions import OperationFailed
from emulator.models.records import ModelRecord
from emulator.models.registry import ModelRegistry

if TYPE_CHECKING:
    # Imported where a repository is loaded: the server needs numpy and onnxruntime (the accel
    # extra), which `python -m emulator` inside a user's image must not need to start.
    from emulator.server.triton.app import TritonServer

#: The SDK v2 model type of a Triton model repository (``AssetTypes.TRITON_MODEL``).
TRITON_MODEL = "triton_model"

_Key = tuple[str, int, str, str]
_LOCK = threading.Lock()
_SERVED: dict[_Key, TritonServer] = {}


def is_no_code(record: DeploymentRecord) -> bool:
    """Whether the deployment names neither code nor environment (Azure's no-code case)."""
    props = record.properties
    return not props.get("codeConfiguration") and not props.get("environmentId")


def is_triton(model: ModelRecord) -> bool:
    """Whether the model was registered as a Triton model repository (``triton_model``)."""
    return model.v2_type == TRITON_MODEL


def serve(
    root: Path,
    workspace_id: int,
    models: ModelRegistry,
    record: DeploymentRecord,
    model: ModelRecord,
    work: Path,
) -> TritonServer:
    """Load ``model``'s repository for ``record`` and serve it from now on (a previous version
    of the deployment is replaced once the new one loaded: a failed update leaves it serving).
    :class:`~emulator.exceptions.OperationFailed` with Triton's reason when it does not load."""
    try:
        from emulator.server.triton.app import TritonServer
        from emulator.server.triton.repository import RepositoryError
    except ImportError as exc:
        raise OperationFailed(
            f"ResourceNotReady: deployment '{record.name}' serves a Triton model repository, "
            f"which needs numpy and onnxruntime ({exc}). [emulator] Install them: pip install "
            "'azureml-emulator[accel]'.",
            code="ResourceNotReady",
            status=400,
        ) from None
    repository = models.materialize(model, work / "model", exist_ok=True)
    try:
        server = TritonServer(repository)
    except RepositoryError as exc:
        raise OperationFailed(
            f"ResourceNotReady: the Triton model repository of deployment '{record.name}' "
            f"(model {model.name}:{model.version}) could not be loaded: {exc}",
            code="ResourceNotReady",
            status=400,
        ) from None
    with _LOCK:
        _SERVED[_key(root, workspace_id, record.endpoint, record.name)] = server
    return server


def served(root: Path, workspace_id: int, endpoint: str, deployment: str) -> TritonServer | None:
    """The deployment's Triton server, when this process serves it."""
    with _LOCK:
        return _SERVED.get(_key(root, workspace_id, endpoint, deployment))


def log(root: Path, workspace_id: int, endpoint: str, deployment: str, lines: int) -> str | None:
    """The last ``lines`` of the deployment's Triton log (``None``: not served here)."""
    server = served(root, workspace_id, endpoint, deployment)
    if server is None:
        return None
    return "".join(f"{line}\n" for line in server.log_lines[-lines:] if lines > 0)


def stop(root: Path, workspace_id: int, endpoint: str, deployment: str) -> None:
    """Stop serving the deployment (nothing when it is not served here)."""
    with _LOCK:
        _SERVED.pop(_key(root, workspace_id, endpoint, deployment), None)


def _key(root: Path, workspace_id: int, endpoint: str, deployment: str) -> _Key:
    return (str(root), workspace_id, endpoint.lower(), deployment.lower())
