"""Running a batch endpoint's job: its record (:mod:`emulator.endpoints.batch_jobs`) driven by
the batch engine (:mod:`emulator.batch.engine`) in the deployment's image.

Here because it joins two independent state packages (endpoints' records, batch's engine) for
every face: the ARM face's ``invoke`` checks what it can at once (:func:`prepare`: the
deployment can run jobs, the job's overrides are valid settings), then starts a run; a thread
reads the inputs (a datastore path or URL that is not there fails the job, as on Azure, where
the job's data access fails), starts the engine and keeps the record at the engine's status
(``Preparing`` until a worker's ``init()`` returned, ``Running``, then ``Completed``/``Failed``/
``Canceled`` with Azure's message). The engine's workers live in this process's children, so a
job can be canceled from the process that started it (the daemon, or a script's in-process
emulator).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.batch import mlflow_driver
from emulator.batch.engine import BatchJob, BatchTask, start_job
from emulator.batch.logs import JobLogs
from emulator.batch.runtime import WorkerRuntime
from emulator.batch.settings import BatchSettings
from emulator.endpoints.batch import BatchDeploymentRecord
from emulator.endpoints.batch_job_spec import BatchJobSpec
from emulator.endpoints.batch_jobs import TERMINAL, BatchJobRecord, BatchJobs
from emulator.exceptions import BadArgument, EmulatorError
from emulator.images.builders.local import load_local_image
from emulator.state.batch_files import output_dir, publish_outputs
from emulator.state.workspace_state import WorkspaceState

logger = logging.getLogger("emulator.batch")
#: Seconds between the watcher's looks at a running job's status.
_WATCH_SECONDS = 0.1
#: Reads a job's inputs into the folder given: its files (raises EmulatorError).
Materialize = Callable[[Path], list[Path]]


@dataclass(frozen=True)
class PreparedRun:
    """What a deployment runs a job with: its image's interpreter, scoring script and model,
    and the settings (the deployment's, with the job's overrides laid over them)."""

    runtime: WorkerRuntime
    scoring_script: Path
    model_dir: Path | None
    settings: BatchSettings


@dataclass
class _Live:
    """A job run by this process: canceled before its engine started, or its engine."""

    canceled: threading.Event = field(default_factory=threading.Event)
    running: BatchJob | None = None


_LIVE_GUARD = threading.Lock()
_LIVE: dict[tuple[str, int, str], _Live] = {}


def job_settings(deployment: Mapping[str, Any], spec: BatchJobSpec) -> BatchSettings:
    """The settings a job runs with: the deployment's properties with the job's overrides laid
    over them (``retrySettings`` and ``resources`` merged key by key); a ``uri_file`` output
    names the output file. :class:`BadArgument` naming an override out of range."""
    merged = dict(deployment)
    for key, value in spec.overrides.items():
        base = merged.get(key)
        merged[key] = (
            {**base, **value} if isinstance(base, dict) and isinstance(value, dict) else value
        )
    if spec.output is not None and spec.output.file_name:
        merged["outputFileName"] = spec.output.file_name
    return BatchSettings.from_properties(merged)


def prepare(
    workspace: WorkspaceState, deployment: BatchDeploymentRecord, spec: BatchJobSpec
) -> PreparedRun:
    """Check at invoke what would fail the job at once: :class:`BadArgument` when the
    deployment cannot run jobs (not built, or built by Docker) or an override is invalid."""
    if deployment.state != "Succeeded" or not deployment.image:
        raise BadArgument(
            f"Deployment '{deployment.name}' of batch endpoint '{deployment.endpoint}' is "
            f"{deployment.state}: it cannot run jobs. [emulator] Create it again and wait for "
            "batch_deployments.begin_create_or_update(...).result().",
            code="UserError",
        )
    name, _, version = deployment.image.rpartition(":")
    image = workspace.images.get(name, int(version))
    if image is None or not image.location:
        raise BadArgument(
            f"The image of deployment '{deployment.name}' ({deployment.image}) is gone. "
            "[emulator] Create the deployment again to rebuild it.",
            code="UserError",
        )
    runtime = WorkerRuntime.from_image(image)
    local = load_local_image(image.location)
    code = deployment.properties.get("codeConfiguration")
    if code:  # the image's entry script: the scoring script inside its code folder
        entry = local.env.get("AZUREML_ENTRY_SCRIPT") or str(code["scoringScript"])
        script = local.app_root / entry
    else:  # an MLflow model without a script: Azure's built-in driver
        script = mlflow_driver.driver_script(runtime.python_path)
    model_dir = local.env.get("AZUREML_MODEL_DIR")
    return PreparedRun(
        runtime=runtime,
        scoring_script=script,
        model_dir=Path(model_dir) if model_dir else None,
        settings=job_settings(deployment.properties, spec),
    )


def start(
    workspace: WorkspaceState, prepared: PreparedRun, job: BatchJobRecord, inputs: Materialize
) -> None:
    """Run ``job`` in a thread: its inputs read with ``inputs`` into the job's ``inputs/``
    folder, then the engine over their files, its status stored as it changes. Returns at
    once; whatever fails from here fails the job with its message."""
    key = _key(workspace, job)
    live = _Live()
    with _LIVE_GUARD:
        _LIVE[key] = live
    threading.Thread(
        target=_run,
        args=(workspace, prepared, job, inputs, live, key),
        name=f"amlemu-batchjob-{job.name}",
        daemon=True,
    ).start()


def cancel(workspace: WorkspaceState, job: BatchJobRecord) -> BatchJobRecord:
    """Cancel ``job``: its workers stop (or never start) and it ends ``Canceled`` (a job that
    ended keeps its status, as Azure's; one run by another process is marked ``Canceled``)."""
    jobs = BatchJobs(workspace.root, workspace.id)
    if job.done:
        return job
    with _LIVE_GUARD:
        live = _LIVE.get(_key(workspace, job))
        if live is not None:
            live.canceled.set()
        running = live.running if live is not None else None
    if running is not None:
        running.cancel()
        running.wait(30.0)
    jobs.set_status(job.name, "Canceled")
    return jobs.get(job.name)


def _key(workspace: WorkspaceState, job: BatchJobRecord) -> tuple[str, int, str]:
    return (str(workspace.root.path), workspace.id, job.name.casefold())


def _run(
    workspace: WorkspaceState,
    prepared: PreparedRun,
    job: BatchJobRecord,
    inputs: Materialize,
    live: _Live,
    key: tuple[str, int, str],
) -> None:
    """The job's thread: inputs, engine, then :func:`follow` until the job ended."""
    jobs = BatchJobs(workspace.root, workspace.id)
    try:
        try:
            task = BatchTask(
                runtime=prepared.runtime,
                scoring_script=prepared.scoring_script,
                model_dir=prepared.model_dir,
                inputs=inputs(Path(job.directory) / "inputs"),
                job_dir=Path(job.directory),
                output_dir=output_dir(job),
                settings=prepared.settings,
            )
            with _LIVE_GUARD:  # a cancel either sees the engine or stops it starting
                if live.canceled.is_set():
                    jobs.set_status(job.name, "Canceled")
                    return
                running = live.running = start_job(task)
        except Exception as exc:  # an input not there, a scoring script gone: the job fails
            message = exc.message if isinstance(exc, EmulatorError) else repr(exc)
            JobLogs(Path(job.directory)).line(f"Job failed: {message}")
            jobs.set_status(job.name, "Failed", message)
            return
        follow(running, jobs, job.name, lambda: publish_outputs(workspace, job))
    finally:
        with _LIVE_GUARD:
            _LIVE.pop(key, None)


def follow(running: BatchJob, jobs: BatchJobs, name: str, publish: Callable[[], None]) -> None:
    """Keep the record ``name`` of ``jobs`` at ``running``'s status until the job ended; a
    completed job's outputs are published (``publish``) before it reads ``Completed``.

    Whether the job ended is read BEFORE its status, and the loop stops only on an ended job
    whose status was read after: the engine stores the final status before it marks the job
    ended, so the last status stored is the final one. (Read the other way round, a job ending
    between the two reads was taken for ended with the status read before the end, ``Running``,
    and the record read ``Running`` forever; anything slow between the reads, such as copying
    logs, made that likely.) A final status is stored once the job ended, not when the engine
    decides it: its last log lines are written by then, so a client that sees the job ended
    (``jobs.stream``) reads the whole log. A job that must end never reads ``Running``
    forever: an engine that ended without a final status, or a store that fails, leave it
    ``Failed``.
    """
    stored = "Preparing"
    try:
        while True:
            running.wait(_WATCH_SECONDS)
            ended = running.done
            status, error = running.status, running.error
            if ended and status not in TERMINAL:
                error = (
                    f"[emulator] The batch engine stopped with the job {status}: see the "
                    "job's logs/sys/master_role.txt."
                )
                status = "Failed"
            if status in TERMINAL and not ended:
                continue  # its last log lines and outputs are still being written
            if status == "Completed" and stored != status:
                publish()
            if status != stored:
                jobs.set_status(name, status, error)
                stored = status
            if ended:
                return
    except Exception as exc:  # a job must end, never read Running forever
        logger.exception("Batch job %s: storing its outcome failed", name)
        running.cancel()
        jobs.set_status(name, "Failed", f"[emulator] Storing the job's outcome failed: {exc!r}")
