"""Running the job of a pipeline component deployment: its steps planned from the component
(:mod:`emulator.endpoints.pipeline_plan`), prepared (code, environment image:
:mod:`emulator.endpoints.batch_pipeline`) and run one after another by
:mod:`emulator.batch.pipeline`, with the job's and its children's records kept at their status.

Here because it joins endpoints' records and batch's engine, as :mod:`emulator.state.batch_runs`
does for model deployments. Folders, under the job's::

    inputs/<input>/                      the job's inputs, as the client gave them
    user_logs/std_log.txt                the pipeline's lines: each step's start and end
    steps/<step>/user_logs/std_log.txt   the step's command's stdout and stderr
    steps/<step>/outputs/<output>/       the step's outputs (the next steps read them there)

A step's outputs are copied onto the default datastore at ``azureml/<step run>/<output>/``
before the step reads ``Completed``, the pipeline's outputs (a step output bound to
``${{parent.outputs.<name>}}``) before the job does, in the folder the invoke's
``outputs={name: Output(path=...)}`` gave, else at ``azureml/<job>/<name>/``: where
``jobs.download(name, output_name=...)`` reads them (:func:`job_output_path`). A step's and the
job's ``logs/`` and ``user_logs/`` are copied to ``ExperimentRun/dcid.<run>/`` once it ended
(:func:`artifacts_path`: ``jobs.download(name, all=True)`` fetches them).
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
import threading
from pathlib import Path
from typing import Any

from emulator.assets import inputs as inputs_resolver
from emulator.assets.blob_containers import BlobContainers
from emulator.assets.components import Components
from emulator.assets.datastore import DEFAULT_DATASTORE, blob_container, storage_account
from emulator.batch.pipeline import (
    COMPLETED,
    FAILED,
    PREPARING,
    RUNNING,
    CommandStep,
    PendingStep,
    PipelineRun,
)
from emulator.batch.runtime import WorkerRuntime
from emulator.endpoints import batch_pipeline
from emulator.endpoints.batch import BatchDeploymentRecord
from emulator.endpoints.batch_job_spec import URI_FOLDER, JobOutput
from emulator.endpoints.batch_jobs import BatchJobRecord, BatchJobs
from emulator.endpoints.pipeline_plan import PlannedStep, Source, plan
from emulator.endpoints.pipeline_steps import TERMINAL, PipelineSteps, StepRecord, StepSpec
from emulator.exceptions import BadArgument
from emulator.state.workspace_state import WorkspaceState

logger = logging.getLogger("emulator.batch")
_LIVE_GUARD = threading.Lock()
_LIVE: dict[tuple[str, int, str], PipelineRun] = {}
#: The job's record of its pipeline: the component and its output names.
_PIPELINE_FILE = "pipeline.json"


def output_path(run: str, output: str) -> str:
    """Where the output ``output`` of ``run`` (a step, or a pipeline job whose invoke gave that
    output no place) lies on the default datastore: Azure's default."""
    return f"azureml/{run}/{output}/"


def job_output_path(job: BatchJobRecord, output: str) -> str:
    """Where the pipeline output ``output`` of ``job`` lies on the default datastore: the
    folder its invoke's ``outputs`` gave, else Azure's default."""
    given = _recorded(job).get("paths")
    if isinstance(given, dict) and isinstance(given.get(output), str):
        return str(given[output])
    return output_path(job.name, output)


def job_output_uri(job: BatchJobRecord, output: str) -> str:
    """The pipeline output ``output`` of ``job`` as ``jobs.get`` shows it: the client's own
    URI when its invoke gave one."""
    given = _recorded(job).get("uris")
    if isinstance(given, dict) and isinstance(given.get(output), str):
        return str(given[output])
    return f"azureml://datastores/{DEFAULT_DATASTORE}/paths/{job_output_path(job, output)}"


def check_outputs(
    workspace: WorkspaceState, deployment: BatchDeploymentRecord, outputs: dict[str, JobOutput]
) -> None:
    """Refuse (before a job exists) outputs the deployment's pipeline does not declare, and a
    ``uri_file`` one: the steps write their outputs as folders."""
    pipeline = batch_pipeline.pipeline_of(workspace.root, workspace.id, deployment.properties)
    declared = list(pipeline.spec.get("outputs") or {})
    for name, output in outputs.items():
        if name not in declared:
            raise BadArgument(
                f"Output '{name}' is not an output of pipeline component '{pipeline.name}' "
                f"(its outputs: {', '.join(declared) or 'none'}). Pass outputs keyed by those.",
                code="UserError",
            )
        if output.kind != URI_FOLDER:
            raise BadArgument(
                f"The output '{name}' is a {output.kind}: a pipeline's outputs are folders. "
                f"Pass Output(type='uri_folder', path='{output.uri.rsplit('/', 1)[0]}/').",
                code="UserError",
            )


def artifacts_path(run: str) -> str:
    """Where the run's logs lie on the default datastore (Azure's artifact folder of a run,
    ``jobs.download(name, all=True)`` fetches it into ``artifacts/``)."""
    return f"ExperimentRun/dcid.{run}/"


def _publish_logs(workspace: WorkspaceState, run: str, folder: Path) -> None:
    """The ``logs/`` and ``user_logs/`` trees of ``folder`` onto the run's artifact folder."""
    for tree in ("logs", "user_logs"):
        if (folder / tree).is_dir():
            _copy(workspace, folder / tree, f"{artifacts_path(run)}{tree}/")


def _recorded(job: BatchJobRecord) -> dict[str, Any]:
    """What ``job`` recorded of its pipeline when it started (the deployment may change or go
    later): the component, its output names, the compute."""
    path = Path(job.directory) / _PIPELINE_FILE
    if not path.is_file():
        return {}
    found = json.loads(path.read_text(encoding="utf-8"))
    return found if isinstance(found, dict) else {}


def recorded_outputs(job: BatchJobRecord) -> list[str]:
    """The names of the pipeline outputs of ``job``."""
    outputs = _recorded(job).get("outputs")
    return [str(name) for name in outputs] if isinstance(outputs, list) else []


def recorded_compute(job: BatchJobRecord) -> str | None:
    """The compute ``job`` ran on (its deployment's ``default_compute``)."""
    compute = _recorded(job).get("compute")
    return str(compute) if compute else None


def start(
    workspace: WorkspaceState,
    deployment: BatchDeploymentRecord,
    job: BatchJobRecord,
    inputs: dict[str, Any],
    outputs: dict[str, JobOutput] | None = None,
) -> None:
    """Start ``job`` on the pipeline of ``deployment`` over ``inputs`` (the invoke's
    ``inputData``), its pipeline outputs going where ``outputs`` says (checked by
    :func:`check_outputs`; the others to Azure's default); the job's inputs are read now
    (Azure's text for one not there), the steps run in a background thread, each prepared
    (its environment's image built) when its turn comes."""
    pipeline = batch_pipeline.pipeline_of(workspace.root, workspace.id, deployment.properties)
    planned = plan(Components(workspace.root, workspace.id), pipeline)
    job_dir = Path(job.directory)
    job_dir.mkdir(parents=True, exist_ok=True)
    given = _job_inputs(workspace, inputs, job_dir / "inputs")
    declared = pipeline.spec.get("inputs") or {}
    values: dict[str, str] = {}
    for name, spec in declared.items():
        default = spec.get("default") if isinstance(spec, dict) else None
        if name in given:
            values[name] = given[name]
        elif default is not None:
            values[name] = str(default)
    missing = sorted(
        {s.name for p in planned for s in p.inputs.values() if s.kind == "parent"} - set(values)
    )
    if missing:
        raise BadArgument(
            f"The job gives no value for the pipeline input(s) {', '.join(missing)} of component "
            f"'{pipeline.name}'. [emulator] Pass inputs={{'{missing[0]}': Input(...)}} to "
            "batch_endpoints.invoke.",
            code="UserError",
        )
    given_out = outputs or {}
    (job_dir / _PIPELINE_FILE).write_text(
        json.dumps(
            {
                "component": f"{pipeline.name}:{pipeline.version}",
                "outputs": list(pipeline.spec.get("outputs") or {}),
                "compute": batch_pipeline.settings(deployment.properties).get("default_compute"),
                "paths": {name: f"{o.path}/" if o.path else "" for name, o in given_out.items()},
                "uris": {name: o.uri for name, o in given_out.items()},
            }
        ),
        encoding="utf-8",
    )
    records = PipelineSteps(workspace.root, workspace.id).create(
        job.name,
        [
            StepSpec(p.name, f"{p.component.name}:{p.component.version}", str(_step_dir(job, p)))
            for p in planned
        ],
    )
    threading.Thread(
        target=_run,
        args=(workspace, job, planned, records, values),
        name=f"amlemu-pipeline-{job.name}",
        daemon=True,
    ).start()


def cancel(workspace: WorkspaceState, job: BatchJobRecord) -> None:
    """Cancel ``job``: its running step is stopped, it and the job end ``Canceled`` (one run by
    another process is marked ``Canceled``)."""
    if job.done:
        return
    with _LIVE_GUARD:
        running = _LIVE.get(_key(workspace, job))
    if running is not None:
        running.cancel()
        running.wait(30.0)
    BatchJobs(workspace.root, workspace.id).set_status(job.name, "Canceled")
    steps = PipelineSteps(workspace.root, workspace.id)
    for step in steps.of_job(job.name):
        if step.status in (PREPARING, RUNNING):
            steps.set_status(step.run, "Canceled")


def _key(workspace: WorkspaceState, job: BatchJobRecord) -> tuple[str, int, str]:
    return (str(workspace.root.path), workspace.id, job.name.casefold())


def _step_dir(job: BatchJobRecord, step: PlannedStep) -> Path:
    return Path(job.directory) / "steps" / step.name


def _job_inputs(workspace: WorkspaceState, inputs: dict[str, Any], into: Path) -> dict[str, str]:
    """Each input of the job as its step commands see it: a file's or folder's local path, or a
    literal's value."""
    values: dict[str, str] = {}
    for key, value in inputs.items():
        if not isinstance(value, dict):
            raise BadArgument(f"Input '{key}' is not an input object.", code="UserError")
        kind = str(value.get("jobInputType") or "uri_folder")
        if kind.casefold() == "literal":
            values[key] = str(value.get("value", ""))
            continue
        if not value.get("uri"):
            raise BadArgument(
                f"Input '{key}' has no uri. [emulator] Pass Input(type=..., path=...).",
                code="UserError",
            )
        values[key] = _local(workspace, str(value["uri"]), kind, into / key)
    return values


def _local(workspace: WorkspaceState, uri: str, kind: str, into: Path) -> str:
    files = inputs_resolver.materialize(workspace.root, workspace.id, uri, kind, into)
    if kind.replace("_", "").casefold() == "urifile" and len(files) == 1:
        return str(files[0])
    return str(into)


def _log(job: BatchJobRecord, message: str) -> None:
    path = Path(job.directory) / "user_logs" / "std_log.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M:%S}"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"{stamp} {message}\n")


def _run(
    workspace: WorkspaceState,
    job: BatchJobRecord,
    planned: list[PlannedStep],
    records: list[StepRecord],
    values: dict[str, str],
) -> None:
    """Run the steps (each prepared when its turn comes: code, image), store every status;
    never raises."""
    jobs = BatchJobs(workspace.root, workspace.id)
    steps = PipelineSteps(workspace.root, workspace.id)

    def on_step(index: int, status: str, error: str | None) -> None:
        record = records[index]
        if status == COMPLETED:  # its outputs on the datastore before it reads Completed
            for name, folder in _outputs(job, planned[index]).items():
                _copy(workspace, folder, output_path(record.run, name))
        if status in TERMINAL:  # and its logs, once it ended
            _publish_logs(workspace, record.run, _step_dir(job, planned[index]))
        steps.set_status(record.run, status, error)
        if status == PREPARING:
            jobs.set_status(job.name, RUNNING)
        _log(
            job, f"Step '{record.step}' ({record.run}): {status}" + (f": {error}" if error else "")
        )

    pending = [
        PendingStep(
            step.name, functools.partial(_command_step, workspace, job, step, values, rec.run)
        )
        for step, rec in zip(planned, records, strict=True)
    ]
    run = PipelineRun(pending, on_step)
    key = _key(workspace, job)
    with _LIVE_GUARD:
        _LIVE[key] = run
    try:
        status = run.start().wait()
        if status == COMPLETED:
            _publish(workspace, job, planned)
        _publish_logs(workspace, job.name, Path(job.directory))
        jobs.set_status(job.name, status, run.error)
    except Exception as exc:  # a job must end, never read Running forever
        logger.exception("Pipeline job %s: storing its outcome failed", job.name)
        jobs.set_status(job.name, FAILED, f"[emulator] Storing the job's outcome failed: {exc!r}")
    finally:
        with _LIVE_GUARD:
            _LIVE.pop(key, None)


def _outputs(job: BatchJobRecord, step: PlannedStep) -> dict[str, Path]:
    """The step's output folders, by output name."""
    names = step.component.spec.get("outputs") or {}
    return {name: _step_dir(job, step) / "outputs" / name for name in names}


def _command_step(
    workspace: WorkspaceState,
    job: BatchJobRecord,
    step: PlannedStep,
    values: dict[str, str],
    run: str,
) -> CommandStep:
    step_dir = _step_dir(job, step)
    component = step.component
    image = batch_pipeline.step_image(workspace, component, step_dir / "build")
    code = batch_pipeline.step_code(workspace, component, step_dir / "code")
    inputs = {
        key: _value(workspace, job, step, key, source, values)
        for key, source in step.inputs.items()
    }
    variables = component.spec.get("environment_variables") or {}
    return CommandStep(
        name=step.name,
        command=str(component.spec.get("command") or ""),
        runtime=WorkerRuntime.from_image(image),
        working_dir=code,
        step_dir=step_dir,
        inputs=inputs,
        outputs=_outputs(job, step),
        environment_variables={
            **{str(k): str(v) for k, v in variables.items()},
            "AZUREML_RUN_ID": run,
            "AZUREML_ROOT_RUN_ID": job.name,
        },
    )


def _value(
    workspace: WorkspaceState,
    job: BatchJobRecord,
    step: PlannedStep,
    key: str,
    source: Source,
    values: dict[str, str],
) -> str:
    if source.kind == "parent":
        return values[source.name]
    if source.kind == "step":
        return str(Path(job.directory) / "steps" / source.name / "outputs" / source.output)
    if source.kind == "uri":
        into = _step_dir(job, step) / "inputs" / key
        return _local(workspace, source.value, source.input_type, into)
    return source.value


def _publish(workspace: WorkspaceState, job: BatchJobRecord, planned: list[PlannedStep]) -> None:
    """Copy the pipeline's outputs onto the default datastore, for ``jobs.download``."""
    for step in planned:
        folders = _outputs(job, step)
        for step_output, name in step.pipeline_outputs.items():
            if step_output in folders:
                _copy(workspace, folders[step_output], job_output_path(job, name))


def _copy(workspace: WorkspaceState, folder: Path, prefix: str) -> None:
    """The files of ``folder`` onto the default datastore under ``prefix``."""
    blobs = BlobContainers(workspace.root)
    account, container = storage_account(workspace.record), blob_container(workspace.record)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        blobs.put(account, container, prefix + path.relative_to(folder).as_posix(), path)
