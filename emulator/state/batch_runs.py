"""Running a batch endpoint's job: its record (:mod:`emulator.endpoints.batch_jobs`) driven by
the batch engine (:mod:`emulator.batch.engine`) in the deployment's image.

Here because it joins two independent state packages (endpoints' records, batch's engine) for
every face: the ARM face's ``invoke`` starts a run, ``jobs.get`` reads the record, which a
watcher thread keeps at the engine's status (``Preparing`` until a worker's ``init()`` returned,
``Running``, then ``Completed``/``Failed``/``Canceled`` with Azure's message). The engine's
workers live in this process's children, so a job can be canceled from the process that
started it (the daemon, or a script's in-process emulator).
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from emulator.assets.blob_containers import BlobContainers
from emulator.assets.datastore import blob_container, storage_account
from emulator.batch.engine import BatchJob, BatchTask, list_input_files, start_job
from emulator.batch.runtime import WorkerRuntime
from emulator.batch.settings import BatchSettings
from emulator.endpoints.batch import BatchDeploymentRecord
from emulator.endpoints.batch_jobs import TERMINAL, BatchJobRecord, BatchJobs
from emulator.exceptions import BadArgument
from emulator.images.builders.local import load_local_image
from emulator.state.workspace_state import WorkspaceState

logger = logging.getLogger("emulator.batch")
#: What a job's name gets for its scoring step's.
STEP_SUFFIX = "-scoring"
#: The log ``jobs.stream`` prints: the job driver's lines, in the file Azure's common runtime
#: names ``user_logs/std_log.txt`` (the name the client looks for first).
STREAM_LOG = "user_logs/std_log.txt"
#: Seconds between the watcher's looks at a running job's status.
_WATCH_SECONDS = 0.1
_LIVE_GUARD = threading.Lock()
_LIVE: dict[tuple[str, int, str], BatchJob] = {}


def output_dir(job: BatchJobRecord) -> Path:
    """The job's ``score`` output folder (``AZUREML_BI_OUTPUT_PATH``)."""
    return Path(job.directory) / "outputs" / "score"


def scoring_step(job: BatchJobRecord) -> str:
    """The name of the job's one child, the scoring step (Azure runs a batch job as a pipeline
    of one step, which ``jobs.list(parent_job_name=...)`` returns)."""
    return f"{job.name}{STEP_SUFFIX}"


def output_path(job: BatchJobRecord) -> str:
    """Where the ``score`` output lies on the default datastore: ``azureml/<step>/score/``, the
    path azure-ai-ml's ``jobs.download`` reads a step's output from when the run names none."""
    return f"azureml/{scoring_step(job)}/score/"


def stream_log_blob(job: BatchJobRecord) -> str:
    """Where the job's streamed log lies on the default datastore: Azure keeps a run's logs
    under ``ExperimentRun/dcid.<run>/``."""
    return f"ExperimentRun/dcid.{job.name}/{STREAM_LOG}"


def publish_logs(workspace: WorkspaceState, job: BatchJobRecord) -> dict[str, str]:
    """The job's log files as they stand now, copied onto the default datastore: log name (as
    Azure's run details name it) -> blob name; none before the job wrote a line.

    Whole lines only: ``jobs.stream`` remembers how many lines of a log it printed, so a line
    caught half-written would be printed cut and its rest never. A copy per call, made when a
    client asks (no thread copies logs while the engine and the watcher run).
    """
    source = Path(job.directory) / STREAM_LOG
    try:
        text = source.read_bytes()
    except FileNotFoundError:
        return {}
    whole = text[: text.rfind(b"\n") + 1]
    blobs = BlobContainers(workspace.root)
    with tempfile.TemporaryDirectory(prefix="amlemu-log-") as scratch:
        snapshot = Path(scratch) / "std_log.txt"
        snapshot.write_bytes(whole)
        blobs.put(
            storage_account(workspace.record),
            blob_container(workspace.record),
            stream_log_blob(job),
            snapshot,
            content_type="text/plain; charset=utf-8",
        )
    return {STREAM_LOG: stream_log_blob(job)}


def _publish_outputs(workspace: WorkspaceState, job: BatchJobRecord) -> None:
    """Copy the job's output files onto the default datastore, for ``jobs.download``."""
    blobs = BlobContainers(workspace.root)
    account, container = storage_account(workspace.record), blob_container(workspace.record)
    folder = output_dir(job)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = output_path(job) + path.relative_to(folder).as_posix()
        blobs.put(account, container, name, path)


def start(
    workspace: WorkspaceState,
    deployment: BatchDeploymentRecord,
    job: BatchJobRecord,
    inputs: list[Path],
) -> BatchJob:
    """Start ``job`` on ``deployment``'s image over the files of ``inputs`` (files or folders);
    returns at once, a watcher thread stores the status as it changes. :class:`BadArgument`
    when the deployment cannot run jobs (not built, or built by Docker)."""
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
    local = load_local_image(image.location)
    # The image's entry script: the scoring script inside the code folder it was copied with.
    script = local.app_root / local.env.get(
        "AZUREML_ENTRY_SCRIPT", str(deployment.properties["codeConfiguration"]["scoringScript"])
    )
    model_dir = local.env.get("AZUREML_MODEL_DIR")
    task = BatchTask(
        runtime=WorkerRuntime.from_image(image),
        scoring_script=script,
        model_dir=Path(model_dir) if model_dir else None,
        inputs=list_input_files(inputs),
        job_dir=Path(job.directory),
        output_dir=output_dir(job),
        settings=BatchSettings.from_properties(deployment.properties),
    )
    running = start_job(task)
    key = (str(workspace.root.path), workspace.id, job.name.casefold())
    with _LIVE_GUARD:
        _LIVE[key] = running
    threading.Thread(
        target=_watch,
        args=(workspace, job, running, key),
        name=f"amlemu-batchjob-{job.name}",
        daemon=True,
    ).start()
    return running


def cancel(workspace: WorkspaceState, job: BatchJobRecord) -> BatchJobRecord:
    """Cancel ``job``: its workers stop and it ends ``Canceled`` (a job that ended keeps its
    status, as Azure's; one run by another process is marked ``Canceled``)."""
    jobs = BatchJobs(workspace.root, workspace.id)
    if job.done:
        return job
    key = (str(workspace.root.path), workspace.id, job.name.casefold())
    with _LIVE_GUARD:
        running = _LIVE.get(key)
    if running is not None:
        running.cancel()
        running.wait(30.0)
    jobs.set_status(job.name, "Canceled")
    return jobs.get(job.name)


def _watch(
    workspace: WorkspaceState, job: BatchJobRecord, running: BatchJob, key: tuple[str, int, str]
) -> None:
    """Store the engine's status as it changes until the job ends (:func:`follow`)."""
    try:
        follow(
            running,
            BatchJobs(workspace.root, workspace.id),
            job.name,
            lambda: _publish_outputs(workspace, job),
        )
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
