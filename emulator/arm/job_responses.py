"""Handlers for batch endpoints' jobs: ``invoke`` (a POST to the endpoint's jobs URL),
``batch_endpoints.list_jobs`` (the workspace API host, found through the discovery URL),
``jobs.get`` and ``jobs.begin_cancel``.

The shapes are what azure-ai-ml 1.35.2 sends and reads (measured with the real client against
this server, see /work/shared/research/sdk-v2-wire.md "Batch"): ``invoke`` POSTs
``{"properties": {"inputData": {key: {"jobInputType", "uri"}}, "name"?, ...}}`` with a
Microsoft Entra token for https://ml.azure.com and, when a deployment is named, the
``azureml-model-deployment`` header; it reads ``id``, ``name``, ``type`` and
``properties.status`` back. ``jobs.get`` reads a pipeline job (a batch job is one in Azure),
whose ``score`` output is the job's output folder. The run itself is
:mod:`emulator.state.batch_runs`'; this module keeps the protocol.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request

from emulator.arm import pipeline_job_responses
from emulator.arm.endpoint_auth import AAD_AUDIENCES
from emulator.arm.exceptions import PROVIDER, AuthenticationFailed
from emulator.arm.identity import TokenRejected, verify_token
from emulator.arm.job_log_responses import job_of_run
from emulator.arm.responses import ArmContext, WorkspaceRequest
from emulator.arm.version_responses import workspace_arm_id
from emulator.assets import inputs as inputs_resolver
from emulator.endpoints import batch_job_spec, batch_pipeline
from emulator.endpoints.batch import BatchDeployments, BatchEndpoints
from emulator.endpoints.batch_jobs import BatchJobRecord, BatchJobs
from emulator.endpoints.pipeline_steps import PipelineSteps
from emulator.exceptions import BadArgument, EmulatorError
from emulator.state import WorkspaceState, batch_files, batch_runs, pipeline_runs

#: Where a batch endpoint's jobs are created (``jobs_uri`` of :mod:`emulator.arm.batch_responses`).
JOBS_PATH = (
    r"/batchjobs/(?P<subscription>[^/]+)/(?P<resource_group>[^/]+)/(?P<workspace>[^/]+)/"
    r"(?P<endpoint>[^/]+)/jobs"
)


def _check_token(ctx: ArmContext, request: Request) -> None:
    """Batch endpoints take Microsoft Entra tokens for Azure ML's data plane only (as Azure's:
    no keys). A token the emulator's identity endpoint issued for https://ml.azure.com passes."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    hint = (
        " [emulator] Batch endpoints take Microsoft Entra tokens for https://ml.azure.com: use "
        "an MLClient with DefaultAzureCredential() pointed at the emulator (amlemu env)."
    )
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("Authentication failed: no bearer token." + hint)
    try:
        verify_token(ctx.identity_secret, token.strip(), (*AAD_AUDIENCES, _sdk_audience(ctx)))
    except TokenRejected as exc:
        raise AuthenticationFailed(f"Authentication failed: {exc.message}{hint}") from None


def _sdk_audience(ctx: ArmContext) -> str:
    """The audience azure-ai-ml 1.35.2 asks tokens for when it calls a batch endpoint: not
    https://ml.azure.com but ``aml_resource_id`` of its current cloud, which for a cloud from
    ARM metadata it derives from the portal URL (``_azure_environments.py``: "https://ml.azure."
    + the portal host's labels after the second, "/" removed). Measured: a portal of
    https://127.0.0.1:36011/ gives https://ml.azure.0.1:36011."""
    portal = ctx.base_url + "/"
    return "https://ml.azure." + ".".join(portal.split(".")[2:]).replace("/", "")


def batch_job_body(state: WorkspaceState, job: BatchJobRecord) -> dict[str, Any]:
    """A job as ``invoke`` and ``list_jobs`` return it (``BatchJob._from_rest_object``)."""
    return {
        "id": f"{workspace_arm_id(state)}/batchEndpoints/{job.endpoint}/jobs/{job.name}",
        "name": job.name,
        "type": f"{PROVIDER}/workspaces/batchEndpoints/jobs",
        "systemData": {"createdAt": job.created_time, "lastModifiedAt": job.modified_time},
        "properties": {
            "status": job.status,
            "deploymentName": job.deployment,
            "inputData": job.inputs,
            **({"error": {"message": job.error}} if job.error else {}),
        },
    }


def pipeline_job_body(state: WorkspaceState, job: BatchJobRecord) -> dict[str, Any]:
    """A job as ``jobs.get`` reads it: Azure runs a batch job as a pipeline job tagged as one."""
    tags = {
        "azureml.batchrun": "true",
        "azureml.deploymentname": job.deployment,
        "azureml.jobtype": "azureml.batchjob",
        "outputType": "output_data",
    }
    return {
        "id": f"{workspace_arm_id(state)}/jobs/{job.name}",
        "name": job.name,
        "type": f"{PROVIDER}/workspaces/jobs",
        "systemData": {"createdAt": job.created_time, "lastModifiedAt": job.modified_time},
        "properties": {
            "jobType": "Pipeline",
            "status": job.status,
            "displayName": job.name,
            "experimentName": job.spec.experiment or job.endpoint,
            "tags": tags,
            "properties": {"azureml.batchrun": "true"},
            "computeId": None,
            "inputs": {
                key: {
                    "jobInputType": "uri_folder",
                    "uri": value.get("uri"),
                    "mode": "ReadOnlyMount",
                }
                for key, value in job.inputs.items()
                if isinstance(value, dict)
            },
            "outputs": {
                "score": {
                    "jobOutputType": batch_files.output_kind(job),
                    "uri": batch_files.output_uri(job),
                    "mode": "ReadWriteMount",
                }
            },
            "jobs": {},
            "settings": {},
            # Azure's is the studio page of the run (...?wsid=<workspace id>, to which the
            # client appends &tid=<tenant>); here the job's folder, with its logs/.
            "services": {
                "Studio": {
                    "jobServiceType": "Studio",
                    "endpoint": f"{Path(job.directory).absolute().as_uri()}?wsid="
                    f"{workspace_arm_id(state)}",
                }
            },
        },
    }


def invoke(req: WorkspaceRequest, endpoint: str) -> Any:
    """``batch_endpoints.invoke``: a job on the named deployment (else the endpoint's default)
    over the given inputs; answers at once with the job in ``Preparing``."""
    _check_token(req.ctx, req.request)
    state = req.state
    ep = BatchEndpoints(req.root, state.id).get(endpoint)
    body = req.request.get_json(silent=True)
    properties = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(properties, dict):
        raise BadArgument(
            "The request body must be a JSON object with 'properties' (a batch job).",
            code="UserError",
        )
    name = req.request.headers.get("azureml-model-deployment") or ep.default_deployment
    if not name:
        raise BadArgument(
            f"Batch endpoint '{ep.name}' has no default deployment and the request names none. "
            "[emulator] Pass deployment_name to invoke, or set endpoint.defaults."
            "deployment_name.",
            code="UserError",
        )
    deployment = BatchDeployments(req.root, state.id).get(ep.name, name)
    inputs = properties.get("inputData") or {}
    pipeline = batch_pipeline.is_pipeline(deployment.properties)
    # A pipeline's job takes the inputs its pipeline declares, none for one that has none
    # (pipeline_runs names a missing one); a model deployment's job scores files, so it has one.
    if not isinstance(inputs, dict) or (not inputs and not pipeline):
        raise BadArgument(
            "The batch job has no input. [emulator] Pass input=Input(type=..., path=...) to "
            "batch_endpoints.invoke.",
            code="UserError",
        )
    spec = None if pipeline else batch_job_spec.parse(properties, state.record.name)
    outputs = batch_job_spec.parse_outputs(properties, state.record.name) if pipeline else {}
    if pipeline:
        pipeline_runs.check_outputs(state, deployment, outputs)
    # A model deployment's job: what Azure refuses at submission is refused here, before a
    # job exists (its outputs and overrides, a deployment not ready, a data asset not there);
    # inputs are read by the job, so a datastore path or URL not there fails the job.
    prepared = None if spec is None else batch_runs.prepare(state, deployment, spec)
    if spec is not None:
        _check_data_assets(req.ctx, state, inputs)
    jobs = BatchJobs(req.root, state.id)
    directory = str(state.directory / "batch-jobs" / "{name}")
    job = jobs.create(
        properties.get("name"), ep.name, deployment.name, inputs, directory, spec=spec
    )
    try:
        if prepared is None:
            pipeline_runs.start(state, deployment, job, inputs, outputs)
        else:
            batch_runs.start(
                state, prepared, job, lambda into: _materialize(req.ctx, state, inputs, into)
            )
    except EmulatorError as exc:  # a pipeline input not there
        jobs.set_status(job.name, "Failed", exc.message)
        raise
    return batch_job_body(state, job)  # as submitted: its run may have moved on already


def _input_uris(inputs: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """Each input's name, URI and type (``uri_folder`` unless declared); an input without a URI
    is refused naming it."""
    for key, value in inputs.items():
        if not isinstance(value, dict) or not value.get("uri"):
            raise BadArgument(
                f"Input '{key}' has no uri. [emulator] Pass Input(type=..., path=...).",
                code="UserError",
            )
        yield key, str(value["uri"]), str(value.get("jobInputType") or "uri_folder")


def _check_data_assets(ctx: ArmContext, state: WorkspaceState, inputs: dict[str, Any]) -> None:
    """Azure resolves a job's data asset inputs when the job is submitted: one that does not
    exist (or is of another type than declared) is refused at invoke."""
    for _, uri, kind in _input_uris(inputs):
        inputs_resolver.data_uri(ctx.root, state.id, uri, kind)


def _materialize(
    ctx: ArmContext, state: WorkspaceState, inputs: dict[str, Any], into: Path
) -> list[Path]:
    """The inputs' files under ``into/<input name>``, through the input resolver jobs read
    inputs by (data assets, datastore paths, served URLs): Azure's text for one not there."""
    files: list[Path] = []
    for key, uri, kind in _input_uris(inputs):
        files += inputs_resolver.materialize(ctx.root, state.id, uri, kind, into / key)
    return files


def get_job(req: WorkspaceRequest, name: str) -> Any:
    """``jobs.get``: a batch job (404 for another name)."""
    state = req.state
    step = pipeline_job_responses.step_body(state, name)
    if step is not None:
        return step
    job = BatchJobs(req.root, state.id).get(name)
    pipeline = pipeline_job_responses.job_body(state, job)
    return pipeline if pipeline is not None else pipeline_job_body(state, job)


def cancel_job(req: WorkspaceRequest, name: str) -> Any:
    """``jobs.begin_cancel``: the job's workers stop; it ends ``Canceled``."""
    state = req.state
    job = BatchJobs(req.root, state.id).get(name)
    if PipelineSteps(req.root, state.id).of_job(job.name):
        pipeline_runs.cancel(state, job)
        return {}
    batch_runs.cancel(state, job)
    return {}


def discovery(ctx: ArmContext, request: Request) -> Any:
    """The workspace's discovery document: every service host is the emulator's."""
    services = ("api", "catalog", "experimentation", "gallery", "history", "hyperdrive")
    more = ("labeling", "modelmanagement", "pipelines", "studio")
    return {service: ctx.base_url for service in (*services, *more)}


def list_jobs(req: WorkspaceRequest, endpoint: str, deployment: str | None = None) -> Any:
    """``batch_endpoints.list_jobs`` (and a deployment's): newest first, in one page."""
    _check_token(req.ctx, req.request)
    state = req.state
    ep = BatchEndpoints(req.root, state.id).get(endpoint)
    records = BatchJobs(req.root, state.id).list(ep.name, deployment)
    return {"value": [batch_job_body(state, job) for job in records]}


# -- run history: a batch job is a pipeline run with one step, the scoring -------------------


def _run(job: BatchJobRecord, step: bool) -> dict[str, Any]:
    """A run as the run history returns it (``_BaseJob._load_from_rest`` reads it)."""
    name = batch_files.scoring_step(job) if step else job.name
    return {
        "runId": name,
        "rootRunId": job.name,
        "parentRunId": job.name if step else None,
        "experimentId": job.endpoint,
        "status": job.status,
        "runType": "azureml.StepRun" if step else "azureml.PipelineRun",
        "displayName": "batchscoring" if step else job.name,
        "name": name,
        "properties": {"azureml.batchrun": "true"},
        "tags": {},
        "createdUtc": job.created_time,
        "error": {"error": {"message": job.error}} if job.error else None,
    }


def run_children(req: WorkspaceRequest, run: str) -> Any:
    """``jobs.list(parent_job_name=...)``: a batch job's one step."""
    state = req.state
    children = pipeline_job_responses.children_of(state, run)
    if children is not None:
        return {"value": children}
    job, step = job_of_run(state, run)
    return {"value": [] if step else [_run(job, step=True)]}


def get_run(req: WorkspaceRequest, run: str) -> Any:
    """One run (the job, or its scoring step)."""
    state = req.state
    pipeline = pipeline_job_responses.run_of(state, run)
    if pipeline is not None:
        return pipeline
    job, step = job_of_run(state, run)
    return _run(job, step)


def run_data(req: WorkspaceRequest) -> Any:
    """``rundata`` (``jobs.download`` asks it for a step's outputs): a completed scoring
    step names its ``score`` output by a data asset id, which ``batchGetResolvedUris``
    resolves to where the job wrote it (the job's ``outputs`` path, or the default one)."""
    body = req.request.get_json(silent=True)
    run = body.get("runId") if isinstance(body, dict) else None
    if not isinstance(run, str):
        raise BadArgument("The request body must name a runId.", code="UserError")
    state = req.state
    pipeline = pipeline_job_responses.run_data_of(state, run)
    if pipeline is not None:
        return pipeline
    job, step = job_of_run(state, run)
    outputs: dict[str, Any] = {}
    if step and job.status == "Completed":
        # The step's score output, as the data asset Azure registers for a step's output
        # (jobs.download resolves it with dataversion/batchGetResolvedUris).
        ws = state.record
        asset = (
            f"azureml://locations/{ws.location}/workspaces/{ws.name}/data/"
            f"azureml_{batch_files.scoring_step(job)}_output_data_score/versions/1"
        )
        outputs["score"] = {"assetId": asset, "type": batch_files.output_kind(job)}
    return {"runMetadata": {**_run(job, step), "outputs": outputs}}
