"""What the job routes answer for the jobs of pipeline component deployments: the parent
pipeline job and its child step jobs (:mod:`emulator.state.pipeline_runs`).

:mod:`emulator.arm.job_responses` asks here first and answers a model deployment's job itself
when these return ``None``. Shapes are what azure-ai-ml 1.35.2 reads (measured with the real
client against this face): ``jobs.get`` of the parent reads a ``Pipeline`` job tagged
``azureml.jobtype: azureml.pipelinejob`` (so ``jobs.download(output_name=...)`` looks its named
outputs up instead of a batch job's ``score``); of a child, a ``Command`` job.
``jobs.list(parent_job_name=...)`` reads the run history's children; ``jobs.download`` reads
``rundata`` (the parent's outputs as data asset ids) then ``dataversion/batchGetResolvedUris``
(their datastore paths).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emulator.arm.compute_responses import compute_id
from emulator.arm.exceptions import PROVIDER
from emulator.arm.responses import WorkspaceRequest
from emulator.arm.version_responses import workspace_arm_id
from emulator.assets import datastore
from emulator.assets.components import Components
from emulator.endpoints.batch_jobs import BatchJobRecord, BatchJobs
from emulator.endpoints.pipeline_steps import PipelineSteps, StepRecord
from emulator.exceptions import BadArgument, EmulatorError
from emulator.state import WorkspaceState, batch_files, pipeline_runs

#: The job type tag of a pipeline job (azure-ai-ml's ``PipelineConstants.PIPELINE_JOB_TYPE``).
PIPELINE_JOB_TYPE = "azureml.pipelinejob"
_OUTPUT_ASSET = "_output_data_"


def _datastore_uri(state: WorkspaceState, path: str) -> str:
    """The long ``azureml://`` form the service returns for a datastore path."""
    ws = state.record
    return (
        f"azureml://subscriptions/{ws.subscription_id}/resourcegroups/{ws.resource_group}/"
        f"workspaces/{ws.name}/datastores/{datastore.DEFAULT_DATASTORE}/paths/{path}"
    )


def _steps(state: WorkspaceState, job: BatchJobRecord) -> list[StepRecord]:
    return PipelineSteps(state.root, state.id).of_job(job.name)


def _studio(state: WorkspaceState, directory: str) -> dict[str, Any]:
    """Azure's is the studio page of the run (``...?wsid=<workspace id>``, to which the client
    appends ``&tid=<tenant>``); here the run's folder, with its ``user_logs/``."""
    uri = f"{Path(directory).absolute().as_uri()}?wsid={workspace_arm_id(state)}"
    return {"Studio": {"jobServiceType": "Studio", "endpoint": uri}}


def _parent_body(state: WorkspaceState, job: BatchJobRecord) -> dict[str, Any]:
    outputs = pipeline_runs.recorded_outputs(job)
    return {
        "id": f"{workspace_arm_id(state)}/jobs/{job.name}",
        "name": job.name,
        "type": f"{PROVIDER}/workspaces/jobs",
        "systemData": {"createdAt": job.created_time, "lastModifiedAt": job.modified_time},
        "properties": {
            "jobType": "Pipeline",
            "status": job.status,
            "displayName": job.name,
            "experimentName": job.endpoint,
            "tags": {
                "azureml.batchrun": "true",
                "azureml.deploymentname": job.deployment,
                "azureml.jobtype": PIPELINE_JOB_TYPE,
            },
            "properties": {"azureml.batchrun": "true"},
            "computeId": _compute_id(state, job),
            "inputs": {
                key: (
                    {"jobInputType": "literal", "value": str(value.get("value"))}
                    if str(value.get("jobInputType")).casefold() == "literal"
                    else {"jobInputType": "uri_folder", "uri": value.get("uri")}
                )
                for key, value in job.inputs.items()
                if isinstance(value, dict)
            },
            "outputs": {
                name: {
                    "jobOutputType": "uri_folder",
                    "uri": pipeline_runs.job_output_uri(job, name),
                    "mode": "ReadWriteMount",
                }
                for name in outputs
            }
            | _artifacts(job.name),
            "jobs": {},
            "settings": {},
            **({"error": {"message": job.error}} if job.error else {}),
            "services": _studio(state, job.directory),
        },
    }


def _step_body(state: WorkspaceState, job: BatchJobRecord, step: StepRecord) -> dict[str, Any]:
    """A child as ``jobs.get`` reads it: the command job of its component."""
    spec = _component_spec(state, step)
    return {
        "id": f"{workspace_arm_id(state)}/jobs/{step.run}",
        "name": step.run,
        "type": f"{PROVIDER}/workspaces/jobs",
        "systemData": {"createdAt": step.created_time, "lastModifiedAt": step.modified_time},
        "properties": {
            "jobType": "Command",
            "status": step.status,
            "displayName": step.step,
            "experimentName": job.endpoint,
            "parentJobName": job.name,
            "computeId": _compute_id(state, job),
            "tags": {},
            "properties": {"azureml.pipeline": job.name, "azureml.nodeid": step.step},
            "command": spec.get("command"),
            "environmentId": str(spec.get("environment") or "").removeprefix("azureml:"),
            "codeId": str(spec.get("code") or "").removeprefix("azureml:") or None,
            "environmentVariables": spec.get("environment_variables") or {},
            "inputs": {},
            "outputs": _artifacts(step.run),
            **({"error": {"message": step.error}} if step.error else {}),
            "services": _studio(state, step.directory),
        },
    }


def _artifacts(run: str) -> dict[str, Any]:
    """The run's ``default`` output, its artifact folder (logs): azure-ai-ml's
    ``jobs.download(all=True)`` fetches it (without it the client looks for the datastore
    ``workspaceartifactstore``, which an emulated workspace lacks), and ``jobs.stream`` lists
    the logs there."""
    # Azure's form (no paths/ segment, no trailing slash): the client lists the logs under
    # the text after the datastore's name + "/user_logs/".
    artifacts = pipeline_runs.artifacts_path(run).rstrip("/")
    uri = f"azureml://datastores/{datastore.DEFAULT_DATASTORE}/{artifacts}"
    return {"default": {"jobOutputType": "uri_folder", "uri": uri, "mode": "ReadWriteMount"}}


def _component_spec(state: WorkspaceState, step: StepRecord) -> dict[str, Any]:
    name, _, version = step.component.rpartition(":")
    return Components(state.root, state.id).get(name, version).spec


def _compute_id(state: WorkspaceState, job: BatchJobRecord) -> str | None:
    compute = pipeline_runs.recorded_compute(job)
    return compute_id(state, compute) if compute else None


def step_body(state: WorkspaceState, name: str) -> dict[str, Any] | None:
    """``jobs.get`` of a pipeline job's step; ``None`` for a name that is no step."""
    step = PipelineSteps(state.root, state.id).find(name)
    if step is None:
        return None
    return _step_body(state, BatchJobs(state.root, state.id).get(step.job), step)


def job_body(state: WorkspaceState, job: BatchJobRecord) -> dict[str, Any] | None:
    """``jobs.get`` of ``job`` (read once by the caller) when it is a pipeline job; ``None``
    for a model deployment's job."""
    return _parent_body(state, job) if _steps(state, job) else None


def _run(state: WorkspaceState, job: BatchJobRecord, step: StepRecord | None) -> dict[str, Any]:
    """A run as the run history returns it (``_BaseJob._load_from_rest`` reads it)."""
    error = (step.error if step else job.error) or None
    return {
        "runId": step.run if step else job.name,
        "rootRunId": job.name,
        "parentRunId": job.name if step else None,
        "experimentId": job.endpoint,
        "status": step.status if step else job.status,
        "runType": "azureml.StepRun" if step else "azureml.PipelineRun",
        "displayName": step.step if step else job.name,
        "name": step.run if step else job.name,
        "properties": {"azureml.batchrun": "true"},
        "tags": {},
        "createdUtc": step.created_time if step else job.created_time,
        "error": {"error": {"message": error}} if error else None,
    }


def run_of(state: WorkspaceState, run: str) -> dict[str, Any] | None:
    """The run history's run of a pipeline job or step; ``None`` for other runs."""
    step = PipelineSteps(state.root, state.id).find(run)
    jobs = BatchJobs(state.root, state.id)
    if step is not None:
        return _run(state, jobs.get(step.job), step)
    try:
        job = jobs.get(run)
    except EmulatorError:
        return None
    return _run(state, job, None) if _steps(state, job) else None


def children_of(state: WorkspaceState, run: str) -> list[dict[str, Any]] | None:
    """``jobs.list(parent_job_name=run)``: a pipeline job's steps in order (a step has none);
    ``None`` for other runs."""
    if PipelineSteps(state.root, state.id).find(run) is not None:
        return []
    try:
        job = BatchJobs(state.root, state.id).get(run)
    except EmulatorError:
        return None
    steps = _steps(state, job)
    return [_run(state, job, step) for step in steps] if steps else None


def _asset_id(state: WorkspaceState, run: str, output: str) -> str:
    """The id of the data asset Azure registers for a run's output (its name is the run's and
    the output's: ``batchGetResolvedUris`` reads them back from it)."""
    return (
        f"azureml://locations/{state.record.location}/workspaces/{state.record.name}/data/"
        f"azureml_{run}{_OUTPUT_ASSET}{output}/versions/1"
    )


def run_data_of(state: WorkspaceState, run: str) -> dict[str, Any] | None:
    """``rundata`` of a pipeline job or step: its outputs as the data assets Azure registers
    for them (``jobs.download`` resolves them next); ``None`` for other runs."""
    found = run_of(state, run)
    if found is None:
        return None
    names: list[str] = []
    if found["status"] == "Completed":
        step = PipelineSteps(state.root, state.id).find(run)
        if step is None:
            names = pipeline_runs.recorded_outputs(BatchJobs(state.root, state.id).get(run))
        else:
            names = list(_component_spec(state, step).get("outputs") or {})
    outputs = {
        name: {"assetId": _asset_id(state, found["runId"], name), "type": "uri_folder"}
        for name in names
    }
    return {"runMetadata": {**found, "outputs": outputs}}


def resolve_uris(req: WorkspaceRequest) -> Any:
    """``dataversion/batchGetResolvedUris``: the datastore paths of the output assets of a
    pipeline job or step (``{"values": [asset ids]}`` → ``{"values": {id: {"uri", "type"}}}``)."""
    state = req.state
    body = req.request.get_json(silent=True)
    ids = body.get("values") if isinstance(body, dict) else None
    if not isinstance(ids, list):
        raise BadArgument("The request body must list asset ids in 'values'.", code="UserError")
    resolved: dict[str, Any] = {}
    for asset in ids:
        name = str(asset).rsplit("/data/", 1)[-1].split("/versions/", 1)[0]
        run, found, output = name.removeprefix("azureml_").rpartition(_OUTPUT_ASSET)
        if not found:
            continue
        path = batch_files.step_output_path(state, run, output)  # a model job's score
        if path is None:
            path = _pipeline_output_path(state, run, output)
        resolved[str(asset)] = {"uri": _datastore_uri(state, path), "type": "uri_folder"}
    return {"values": resolved}


def _pipeline_output_path(state: WorkspaceState, run: str, output: str) -> str:
    """The datastore path of output ``output`` of ``run``: a pipeline job's where its invoke
    put it, a step's at Azure's default."""
    try:
        job = BatchJobs(state.root, state.id).get(run)
    except EmulatorError:
        return pipeline_runs.output_path(run, output)
    return pipeline_runs.job_output_path(job, output)
