"""``ml_client.jobs.stream(name)`` of a batch job through the real azure-ai-ml: the job's log
lines printed as they are written, the stream ending when the job ends, a failed job raising
the client's JobException with Azure's message."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from azure.ai.ml import Input, MLClient
from azure.ai.ml.entities import BatchRetrySettings
from azure.ai.ml.exceptions import JobException
from azure.ai.ml.operations._run_history_constants import RunHistoryConstants

from emulator.daemon.server import EmulatorServer
from emulator.endpoints.batch_jobs import BatchJobRecord, BatchJobs
from emulator.state import WorkspaceState, batch_files
from emulator.store.workspaces import WorkspaceStore
from tests.arm.batch_jobs_support import (
    SUB,
    client,
    deploy,
    input_folder,
    settle,
)

__all__ = ["client"]  # the fixture, imported for the tests below

#: Scoring scripts hold their first mini-batch until the file GATE exists (see ``gate``).
GATED_NAMES = """
import os
import time

def init():
    while not os.path.exists(os.environ["GATE"]):
        time.sleep(0.05)

def run(mini_batch):
    return [os.path.basename(path) for path in mini_batch]
"""

GATED_FAILING = """
import os
import time

def init():
    while not os.path.exists(os.environ["GATE"]):
        time.sleep(0.05)

def run(mini_batch):
    raise ValueError("cannot score " + ", ".join(sorted(mini_batch)))
"""


@pytest.fixture
def gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file the jobs' workers wait for, made once the client polled the run details twice:
    the job is still starting at the client's first polls, whatever the machine's load (a job
    that ended before the client's first poll prints no log at all, on Azure too)."""
    path = tmp_path / "gate"
    polls: list[int] = []
    publish = batch_files.publish_logs

    def counting(workspace: WorkspaceState, job: BatchJobRecord) -> dict[str, str]:
        logs = publish(workspace, job)
        polls.append(1)
        if len(polls) >= 2:
            path.touch()
        return logs

    monkeypatch.setattr(batch_files, "publish_logs", counting)
    return path


class _Console(io.StringIO):
    """stdout that notes, for every line the client prints, the job's stored status then."""

    def __init__(self, jobs: BatchJobs) -> None:
        super().__init__()
        self.jobs = jobs
        self.job = ""
        self.seen: list[tuple[str, str]] = []

    def write(self, text: str) -> int:
        if self.job:
            status = self.jobs.get(self.job).status
            self.seen += [(line, status) for line in text.splitlines() if line.strip()]
        return super().write(text)


@pytest.fixture
def console(
    arm_server: EmulatorServer, client: MLClient, monkeypatch: pytest.MonkeyPatch
) -> _Console:
    # The client sleeps max(2, ...) s between polls; 1 s keeps the tests short (the variable
    # AZUREML_RUN_POLLING_INTERVAL_MIN sets the same, read when azure-ai-ml is imported).
    monkeypatch.setattr(RunHistoryConstants, "_WAIT_COMPLETION_POLLING_INTERVAL_MIN", 1)
    workspace = WorkspaceStore(arm_server.root).find(SUB, "rg", "ws")
    assert workspace is not None  # made by the client fixture's first request
    out = _Console(BatchJobs(arm_server.root, workspace.id))
    return out


def test_stream_prints_the_jobs_log_as_it_is_written_and_ends_with_the_job(
    client: MLClient, console: _Console, gate: Path, tmp_path: Path
) -> None:
    deploy(
        client,
        tmp_path,
        "gated",
        GATED_NAMES,
        mini_batch_size=2,
        environment_variables={"GATE": str(gate)},
    )
    job = client.batch_endpoints.invoke(
        endpoint_name="bep", input=Input(type="uri_folder", path=str(input_folder(tmp_path, 6)))
    )
    console.job = job.name

    with redirect_stdout(console):  # where the client prints
        client.jobs.stream(job.name)

    text = console.getvalue()
    assert text.startswith(f"RunId: {job.name}\nWeb View: file://")
    assert "Streaming user_logs/std_log.txt\n" in text
    lines = [line for line, _ in console.seen]
    started = next(i for i, line in enumerate(lines) if "Job started: 6 items in 3 mini" in line)
    finished = next(i for i, line in enumerate(lines) if "Job completed: 3 of 3 mini" in line)
    summary = lines.index("Execution Summary")
    assert started < finished < summary
    # Each log line once, the first ones printed while the job still ran.
    log = lines[started : finished + 1]
    assert len(log) == len(set(log))
    assert console.seen[started][1] in ("Preparing", "Running")
    assert client.jobs.get(job.name).status == "Completed"


def test_stream_of_a_failed_job_raises_with_azures_message_after_its_log(
    client: MLClient, console: _Console, gate: Path, tmp_path: Path
) -> None:
    deploy(
        client,
        tmp_path,
        "broken",
        GATED_FAILING,
        environment_variables={"GATE": str(gate)},
        mini_batch_size=1,
        error_threshold=0,
        retry_settings=BatchRetrySettings(max_retries=1, timeout=30),
    )
    job = client.batch_endpoints.invoke(
        endpoint_name="bep",
        deployment_name="broken",
        input=Input(type="uri_folder", path=str(input_folder(tmp_path, 2))),
    )
    with redirect_stdout(console), pytest.raises(JobException, match=r"error_threshold \(0\)"):
        client.jobs.stream(job.name)
    text = console.getvalue()
    assert "failed after 1 tries: ValueError: cannot score" in text
    assert "Job failed: The number of failed items" in text
    assert text.index("Job failed:") < text.index("Execution Summary")
    assert settle(client, job.name) == "Failed"
