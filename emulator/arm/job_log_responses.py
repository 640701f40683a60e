"""What ``ml_client.jobs.stream(name)`` polls for a batch job (or a pipeline's step job): the
run history's run details, whose ``logFiles`` name the run's logs by URL.

azure-ai-ml 1.35.2 (``_job_ops_helper.stream_logs_until_completion``, read and measured against
this face) prints ``RunId``/``Web View``, then GETs
``<api>/history/v1.0/<workspace>/runs/<name>/details`` while ``status`` is in progress
(``NotStarted`` ... ``Running``), sleeping ``max(2, 60 / (1 + 100 e^(-t/20)))`` s between polls.
Each time it GETs every ``logFiles`` URL named like ``user_logs/std_log*.txt`` (Azure's common
runtime; else ``logs/azureml/executionlogs.txt`` for a pipeline) with no credential, and prints
the lines it has not printed yet under ``Streaming <name>``. Once the status is terminal it
prints the ``Execution Summary``; a ``Failed`` run raises ``JobException`` with ``error``.
The URLs are, as Azure's, read-only SAS URLs of blobs on the workspace's storage
(``ExperimentRun/dcid.<run>/...``), copied there when the details are asked for.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
from pathlib import Path
from typing import Any
from urllib.parse import quote

from emulator.arm.responses import ArmContext, WorkspaceRequest
from emulator.assets.datastore import blob_container, storage_account
from emulator.endpoints.batch_jobs import BatchJobRecord, BatchJobs
from emulator.endpoints.pipeline_steps import PipelineSteps, StepRecord
from emulator.exceptions import NotFound
from emulator.state import WorkspaceState, batch_files, pipeline_runs


def _blob_url(ctx: ArmContext, state: WorkspaceState, blob: str) -> str:
    """A read-only SAS URL of ``blob`` on the default datastore (the blob plane accepts any
    signature on loopback; this one is the emulator's, so the URL reads as Azure's)."""
    account, container = storage_account(state.record), blob_container(state.record)
    path = f"{account}.blob.core.windows.net/{container}/{quote(blob)}"
    digest = hmac.new(ctx.identity_secret.encode(), path.encode(), hashlib.sha256).digest()
    signature = quote(base64.b64encode(digest).decode(), safe="")
    return f"{ctx.base_url}/{path}?sv=2021-08-06&sr=b&sp=r&sig={signature}"


def _details(
    ctx: ArmContext,
    state: WorkspaceState,
    run: str,
    record: BatchJobRecord | StepRecord,
    target: str,
    logs: dict[str, str],
) -> Any:
    """RunDetails of the run (a job, its scoring step, or a pipeline's step job): ``record``
    read before its ``logs`` were copied, so that a terminal status comes with the log's last
    lines (the record ends only after the engine wrote them)."""
    error = record.error
    return {
        "runId": run,
        "status": record.status,
        "target": target,
        "createdTimeUtc": record.created_time,
        "logFiles": {name: _blob_url(ctx, state, blob) for name, blob in logs.items()},
        "warnings": [],
        **({"error": {"error": {"code": "UserError", "message": error}}} if error else {}),
    }


def run_details(req: WorkspaceRequest, run: str) -> Any:
    """``runs/<run>/details``: the run's status, error and log URLs (a pipeline's step job
    streams its command's output, ``user_logs/std_log.txt`` of its folder)."""
    state = req.state
    step = PipelineSteps(state.root, state.id).find(run)
    if step is not None:
        compute = pipeline_runs.recorded_compute(BatchJobs(state.root, state.id).get(step.job))
        logs = batch_files.publish_run_logs(state, step.run, Path(step.directory))
        return _details(req.ctx, state, step.run, step, compute or "", logs)
    job, _ = job_of_run(state, run)
    return _details(req.ctx, state, run, job, job.deployment, batch_files.publish_logs(state, job))


def job_of_run(state: WorkspaceState, run: str) -> tuple[BatchJobRecord, bool]:
    """The batch job a run id names, and whether the id is its scoring step's (the job's name
    and a suffix; the step shares the job's log); a job named by the id itself comes first, and
    an id that names neither is the 404 for that id."""
    jobs = BatchJobs(state.root, state.id)
    try:
        return jobs.get(run), False
    except NotFound as error:
        missing = error
    if run.endswith(batch_files.STEP_SUFFIX):
        with contextlib.suppress(NotFound):
            return jobs.get(run.removesuffix(batch_files.STEP_SUFFIX)), True
    raise missing
