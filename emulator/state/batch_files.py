"""Where a batch job's files are for its clients: the ``score`` output and the streamed log,
copied from the job's folder (``<workspace>/batch-jobs/<job>/``) onto the default datastore.

Azure runs a batch job as a pipeline of one step, the scoring (``<job>-scoring`` here), whose
``score`` output lies at the job's ``outputs={"score": Output(path=...)}`` when given, else at
``azureml/<step>/score/`` (the path azure-ai-ml's ``jobs.download`` probes when a run names no
output); a ``uri_file`` output is the output file itself. A run's logs lie under
``ExperimentRun/dcid.<run>/``. The files are copied (the job's folder keeps its own), outputs
once the job completed, the log whenever a client asks for the run's details.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from emulator.assets.blob_containers import BlobContainers
from emulator.assets.datastore import DEFAULT_DATASTORE, blob_container, storage_account
from emulator.endpoints.batch_job_spec import SCORE, URI_FILE, URI_FOLDER
from emulator.endpoints.batch_jobs import BatchJobRecord, BatchJobs
from emulator.exceptions import NotFound
from emulator.state.workspace_state import WorkspaceState

#: What a job's name gets for its scoring step's.
STEP_SUFFIX = "-scoring"
#: The log ``jobs.stream`` prints: the job driver's lines, in the file Azure's common runtime
#: names ``user_logs/std_log.txt`` (the name the client looks for first).
STREAM_LOG = "user_logs/std_log.txt"


def scoring_step(job: BatchJobRecord) -> str:
    """The name of the job's one child, the scoring step (Azure runs a batch job as a pipeline
    of one step, which ``jobs.list(parent_job_name=...)`` returns)."""
    return f"{job.name}{STEP_SUFFIX}"


def output_dir(job: BatchJobRecord) -> Path:
    """The job's local ``score`` output folder (``AZUREML_BI_OUTPUT_PATH``)."""
    return Path(job.directory) / "outputs" / SCORE


def output_kind(job: BatchJobRecord) -> str:
    """``uri_folder``, or ``uri_file`` when the job asked its output to be one file."""
    return job.spec.output.kind if job.spec.output is not None else URI_FOLDER


def output_path(job: BatchJobRecord) -> str:
    """The ``score`` output's datastore path: a folder's ends with ``/``."""
    output = job.spec.output
    if output is None:
        return f"azureml/{scoring_step(job)}/{SCORE}/"
    if output.kind == URI_FILE:
        return output.path
    return f"{output.path}/" if output.path else ""


def output_uri(job: BatchJobRecord) -> str:
    """The ``score`` output as ``jobs.get`` shows it: the client's own URI when it gave one."""
    if job.spec.output is not None:
        return job.spec.output.uri
    return f"azureml://datastores/{DEFAULT_DATASTORE}/paths/{output_path(job)}"


def step_output_path(workspace: WorkspaceState, run: str, output: str) -> str | None:
    """The datastore path of output ``output`` of the run ``run`` when it is a batch job's
    scoring step (``jobs.download`` resolves the step's ``score`` output with it); ``None``
    for any other run or output."""
    if output != SCORE or not run.endswith(STEP_SUFFIX):
        return None
    try:
        job = BatchJobs(workspace.root, workspace.id).get(run.removesuffix(STEP_SUFFIX))
    except NotFound:
        return None
    return output_path(job)


def publish_outputs(workspace: WorkspaceState, job: BatchJobRecord) -> None:
    """Copy the job's output onto the default datastore, where :func:`output_path` says: a
    folder's files at their relative paths; a ``uri_file`` output's one file (the output
    file) at the path itself."""
    blobs = BlobContainers(workspace.root)
    account, container = storage_account(workspace.record), blob_container(workspace.record)
    folder, path = output_dir(job), output_path(job)
    if output_kind(job) == URI_FILE:
        source = folder / Path(path).name
        if source.is_file():
            blobs.put(account, container, path, source)
        return
    for source in sorted(p for p in folder.rglob("*") if p.is_file()):
        blobs.put(account, container, path + source.relative_to(folder).as_posix(), source)


def stream_log_blob(run: str) -> str:
    """Where the streamed log of run ``run`` lies on the default datastore."""
    return f"ExperimentRun/dcid.{run}/{STREAM_LOG}"


def publish_logs(workspace: WorkspaceState, job: BatchJobRecord) -> dict[str, str]:
    """The job's log files as they stand now, copied onto the default datastore: log name (as
    Azure's run details name it) -> blob name; none before the job wrote a line."""
    return publish_run_logs(workspace, job.name, Path(job.directory))


def publish_run_logs(workspace: WorkspaceState, run: str, directory: Path) -> dict[str, str]:
    """The log files of run ``run`` (a job, or a pipeline's step) whose folder is
    ``directory``, as :func:`publish_logs` says.

    Whole lines only: ``jobs.stream`` remembers how many lines of a log it printed, so a line
    caught half-written would be printed cut and its rest never. A copy per call, made when a
    client asks (no thread copies logs while the engine and the watcher run).
    """
    source = directory / STREAM_LOG
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
            stream_log_blob(run),
            snapshot,
            content_type="text/plain; charset=utf-8",
        )
    return {STREAM_LOG: stream_log_blob(run)}
