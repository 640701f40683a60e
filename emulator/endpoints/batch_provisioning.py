"""Provisioning a batch deployment: its image, built when the deployment is created.

Azure builds a batch deployment's environment when the deployment is created, not when a job
first runs, so a bad conda specification fails the create (the operation ends ``Failed`` with
the build log). The build is the online deployments' (:func:`emulator.endpoints.provisioning.
build_image`: the same model, code and environment resolution, the same image cache), so a
batch and an online deployment of the same code share an image. Jobs later run in it.
"""

from __future__ import annotations

import threading
from typing import Any

from emulator.compute.aml_clusters import AmlClusters
from emulator.endpoints import mlflow
from emulator.endpoints.batch import BatchDeploymentRecord, BatchDeployments
from emulator.endpoints.deployments import DeploymentRecord
from emulator.endpoints.provisioning import WorkspaceAssets, build_image
from emulator.exceptions import BadArgument, EmulatorError
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceRecord


def check_buildable(workspace: WorkspaceAssets, name: str, properties: dict[str, Any]) -> None:
    """What Azure refuses before storing a model batch deployment: no model; a scoring script
    without an environment or the reverse; no script for a model that is not an MLflow model
    (:class:`BadArgument` naming what is missing and how to give it)."""
    model = properties.get("model") or {}
    asset_id = model.get("assetId") if isinstance(model, dict) else None
    if not asset_id:
        raise BadArgument(
            f"Batch deployment '{name}' has no model. [emulator] A model batch deployment "
            "needs a registered model (model=Model(path=...) or azureml:<name>:<version>).",
            code="UserError",
        )
    code = properties.get("codeConfiguration") or {}
    if code and not (code.get("codeId") and code.get("scoringScript")):
        raise BadArgument(
            f"Batch deployment '{name}' has a code_configuration without code or "
            "scoring_script. [emulator] Give both: CodeConfiguration(code=..., "
            "scoring_script=...).",
            code="UserError",
        )
    mlflow.check_code_and_environment(properties, mlflow.model_of(workspace.models, asset_id))


def check_compute(
    root: EmulatorRoot, workspace: WorkspaceRecord, name: str, properties: dict[str, Any]
) -> None:
    """A batch deployment runs on an AmlCompute cluster of its workspace (``compute``: the
    cluster's name or ARM id, as the client sends it); :class:`BadArgument` naming the clusters
    there otherwise."""
    compute = str(properties.get("compute") or "").rstrip("/").rsplit("/", 1)[-1]
    clusters = AmlClusters(root, workspace)
    if compute and clusters.find(compute) is not None:
        return
    names = ", ".join(f"'{c.name}'" for c in clusters.list()) or "none"
    what = f"compute '{compute}', which is not" if compute else "no compute; it needs"
    raise BadArgument(
        f"Batch deployment '{name}' names {what} an AmlCompute cluster of workspace "
        f"'{workspace.name}'. [emulator] AmlCompute clusters of this workspace: {names}; create "
        "one with ml_client.compute.begin_create_or_update(AmlCompute(name=..., size=..., "
        "max_instances=...)) and name it in compute=.",
        code="UserError",
    )


def start(workspace: WorkspaceAssets, record: BatchDeploymentRecord) -> threading.Thread:
    """:func:`apply` in a background thread (the ARM face answers the PUT meanwhile)."""
    thread = threading.Thread(
        target=apply,
        args=(workspace, record),
        name=f"amlemu-batch-{record.endpoint}-{record.name}",
        daemon=True,
    )
    thread.start()
    return thread


def apply(
    workspace: WorkspaceAssets, record: BatchDeploymentRecord
) -> BatchDeploymentRecord | None:
    """Build the image of ``record`` and store the outcome (``Succeeded`` with the image, or
    ``Failed`` with Azure's error). Never raises: the operation the client polls must end.
    ``None`` when the deployment was deleted or replaced meanwhile."""
    deployments = BatchDeployments(workspace.root, workspace.id)
    props = record.properties
    online_shape = DeploymentRecord(
        endpoint=record.endpoint,
        name=record.name,
        properties={
            "model": props["model"]["assetId"],
            "codeConfiguration": props.get("codeConfiguration"),
            "environmentId": props.get("environmentId"),
        },
        tags={},
        sku={},
        state=record.state,
        error=None,
        created_time=record.created_time,
        modified_time=record.modified_time,
    )
    work = workspace.directory / "batch" / record.endpoint.lower() / record.name.lower()
    work.mkdir(parents=True, exist_ok=True)
    try:
        image = build_image(workspace, online_shape, work)
    except Exception as exc:  # anything: the operation must end Failed
        message = exc.message if isinstance(exc, EmulatorError) else repr(exc)
        code = exc.code if isinstance(exc, EmulatorError) else "InternalServerError"
        return deployments.set_state(record, "Failed", {"code": code, "message": message})
    return deployments.set_state(record, "Succeeded", image=f"{image.name}:{image.version}")
