"""A pipeline component deployment's job's inputs, outputs and step logs through the real
azure-ai-ml: a pipeline without inputs invoked with none (Microsoft's hello-batch sample), the
pipeline's outputs written where ``outputs={...: Output(path=...)}`` says and downloaded from
there, outputs the pipeline lacks refused, and ``jobs.stream`` of a step job printing its
command's output as it is written."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from azure.ai.ml import MLClient, Output
from azure.ai.ml.operations._run_history_constants import RunHistoryConstants
from azure.core.exceptions import HttpResponseError

from emulator.assets.blob_containers import BlobContainers
from emulator.assets.datastore import blob_container, storage_account
from emulator.daemon.server import EmulatorServer
from emulator.endpoints.batch_jobs import BatchJobs
from emulator.state import WorkspaceState, batch_files
from emulator.store.workspaces import WorkspaceStore
from tests.arm.batch_jobs_support import NAMES, SUB, client, deploy, settle
from tests.arm.batch_pipeline_support import one_step_deployment

__all__ = ["client"]  # the fixture, imported for the tests below

DATASTORE = "azureml://datastores/workspaceblobstore/paths"
GREET = "echo greeting && echo hi > ${{outputs.greeting}}/hi.txt"


def _blobs(server: EmulatorServer, prefix: str) -> list[str]:
    """The default datastore's blob names under ``prefix``."""
    workspace = WorkspaceStore(server.root).find(SUB, "rg", "ws")
    assert workspace is not None
    listed = BlobContainers(server.root).list(
        storage_account(workspace), blob_container(workspace), prefix
    )
    return sorted(blob.name for blob in listed)


def test_a_pipeline_without_inputs_runs_when_invoked_with_none(
    client: MLClient, tmp_path: Path
) -> None:
    # Microsoft's hello-batch sample: one step, no input, no output.
    one_step_deployment(client, "hello-batch", 'echo "Hello Batch world!"')
    job = client.batch_endpoints.invoke(endpoint_name="hello-batch")
    assert settle(client, job.name, timeout=120) == "Completed"
    (step,) = client.jobs.list(parent_job_name=job.name)
    assert step.status == "Completed"
    client.jobs.stream(step.name)  # a step that ended streams nothing and does not raise


def test_a_model_deployment_still_needs_an_input(client: MLClient, tmp_path: Path) -> None:
    deploy(client, tmp_path, "names", NAMES, mini_batch_size=10)
    with pytest.raises(HttpResponseError, match="The batch job has no input"):
        client.batch_endpoints.invoke(endpoint_name="bep")
    assert list(client.batch_endpoints.list_jobs("bep")) == []


def test_the_pipeline_outputs_go_where_the_invoke_says(
    arm_server: EmulatorServer, client: MLClient, tmp_path: Path
) -> None:
    one_step_deployment(client, "greet", GREET, ("greeting",))
    uri = f"{DATASTORE}/greetings/run-1/"
    job = client.batch_endpoints.invoke(
        endpoint_name="greet", outputs={"greeting": Output(type="uri_folder", path=uri)}
    )
    assert settle(client, job.name, timeout=120) == "Completed"
    assert client.jobs.get(job.name).outputs["greeting"].path == uri
    assert _blobs(arm_server, "greetings/") == ["greetings/run-1/hi.txt"]
    assert _blobs(arm_server, f"azureml/{job.name}/") == []
    client.jobs.download(job.name, download_path=str(tmp_path / "out"), output_name="greeting")
    got = tmp_path / "out" / "named-outputs" / "greeting" / "hi.txt"
    assert got.read_text() == "hi\n"
    # Without outputs=, Azure's default place: azureml/<job>/<output>/.
    plain = client.batch_endpoints.invoke(endpoint_name="greet")
    assert settle(client, plain.name, timeout=120) == "Completed"
    default = f"{DATASTORE}/azureml/{plain.name}/greeting/"
    assert client.jobs.get(plain.name).outputs["greeting"].path == default
    assert _blobs(arm_server, f"azureml/{plain.name}/") == [f"azureml/{plain.name}/greeting/hi.txt"]


def test_outputs_the_pipeline_cannot_write_are_refused_with_no_job_made(
    client: MLClient,
) -> None:
    one_step_deployment(client, "greet", GREET, ("greeting",))
    cases = {
        "Output 'greting' is not an output of pipeline component 'greet_pipe' (its outputs: "
        "greeting)": {"greting": Output(type="uri_folder", path=f"{DATASTORE}/x/")},
        "The output 'greeting' is a uri_file: a pipeline's outputs are folders": {
            "greeting": Output(type="uri_file", path=f"{DATASTORE}/x/hi.txt")
        },
        "Datastore 'otherstore' of the output 'greeting'": {
            "greeting": Output(path="azureml://datastores/otherstore/paths/x/")
        },
        "is not a datastore path": {"greeting": Output(path="https://example.com/out/")},
    }
    for message, outputs in cases.items():
        with pytest.raises(HttpResponseError, match=re.escape(message)):
            client.batch_endpoints.invoke(endpoint_name="greet", outputs=outputs)
    assert list(client.batch_endpoints.list_jobs("greet")) == []


@pytest.fixture
def gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file the step's command waits for, made once the client polled the step's run
    details twice: the step is still running at the client's first polls, whatever the load."""
    path = tmp_path / "gate"
    polls: list[int] = []
    publish = batch_files.publish_run_logs

    def counting(workspace: WorkspaceState, run: str, directory: Path) -> dict[str, str]:
        logs = publish(workspace, run, directory)
        polls.append(1)
        if len(polls) >= 2:
            path.touch()
        return logs

    monkeypatch.setattr(batch_files, "publish_run_logs", counting)
    # The client sleeps max(2, ...) s between polls; 1 s keeps the test short.
    monkeypatch.setattr(RunHistoryConstants, "_WAIT_COMPLETION_POLLING_INTERVAL_MIN", 1)
    return path


def test_stream_of_a_step_job_prints_its_commands_output_as_it_is_written(
    arm_server: EmulatorServer, client: MLClient, gate: Path
) -> None:
    command = f"echo step started && while [ ! -f {gate} ]; do sleep 0.05; done && echo step done"
    one_step_deployment(client, "gated", command)
    job = client.batch_endpoints.invoke(endpoint_name="gated")
    workspace = WorkspaceStore(arm_server.root).find(SUB, "rg", "ws")
    assert workspace is not None
    steps = []
    for _ in range(600):  # the step is running (it waits for the gate) within seconds
        steps = list(client.jobs.list(parent_job_name=job.name))
        if steps and steps[0].status == "Running":
            break
        assert BatchJobs(arm_server.root, workspace.id).get(job.name).status != "Failed"
    out = io.StringIO()
    with redirect_stdout(out):
        client.jobs.stream(steps[0].name)
    printed = out.getvalue()
    assert f"RunId: {steps[0].name}" in printed
    assert "Streaming user_logs/std_log.txt" in printed
    assert printed.index("step started") < printed.index("step done")
    assert printed.index("step done") < printed.index("Execution Summary")
    assert settle(client, job.name) == "Completed"


def test_download_all_fetches_the_outputs_and_the_logs_of_a_job_and_a_step(
    client: MLClient, tmp_path: Path
) -> None:
    one_step_deployment(client, "greet", GREET, ("greeting",))
    job = client.batch_endpoints.invoke(endpoint_name="greet")
    assert settle(client, job.name, timeout=120) == "Completed"
    client.jobs.download(job.name, download_path=str(tmp_path / "job"), all=True)
    assert (tmp_path / "job" / "named-outputs" / "greeting" / "hi.txt").read_text() == "hi\n"
    parent_log = (tmp_path / "job" / "artifacts" / "user_logs" / "std_log.txt").read_text()
    (step,) = client.jobs.list(parent_job_name=job.name)
    assert f"({step.name}): Completed" in parent_log
    client.jobs.download(step.name, download_path=str(tmp_path / "step"), all=True)
    assert (tmp_path / "step" / "named-outputs" / "greeting" / "hi.txt").read_text() == "hi\n"
    step_log = (tmp_path / "step" / "artifacts" / "user_logs" / "std_log.txt").read_text()
    assert "greeting" in step_log.splitlines()
