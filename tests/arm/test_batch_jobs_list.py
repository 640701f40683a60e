"""``ml_client.jobs.list()`` (no parent) through the real azure-ai-ml: the workspace's batch
jobs, model and pipeline deployments' alike, newest first and without the pipelines' step
jobs, in pages the client follows; ``list_view_type`` honoured; a bad view refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from azure.ai.ml import Input, MLClient
from azure.ai.ml.constants import ListViewType
from azure.ai.ml.entities import PipelineJob
from azure.identity import DefaultAzureCredential

from emulator.arm import job_list_responses
from emulator.arm.exceptions import PROVIDER
from emulator.daemon.server import EmulatorServer
from emulator.endpoints.batch_jobs import BatchJobs
from emulator.store.workspaces import WorkspaceStore
from tests.arm.batch_jobs_support import NAMES, SUB, client, deploy, input_folder, settle
from tests.arm.batch_pipeline_support import one_step_deployment

__all__ = ["client"]  # the fixture, imported for the tests below

WS = f"/subscriptions/{SUB}/resourceGroups/rg/providers/{PROVIDER}/workspaces/ws"


def test_jobs_list_gives_every_batch_job_newest_first_without_step_jobs(
    client: MLClient, tmp_path: Path
) -> None:
    deploy(client, tmp_path, "names", NAMES, mini_batch_size=10)
    one_step_deployment(client, "pep", "echo hi > ${{outputs.greeting}}/hi.txt", ("greeting",))
    folder = Input(type="uri_folder", path=str(input_folder(tmp_path, 2)))
    first = client.batch_endpoints.invoke(endpoint_name="bep", input=folder, job_name="first")
    piped = client.batch_endpoints.invoke(endpoint_name="pep", job_name="piped")
    last = client.batch_endpoints.invoke(endpoint_name="bep", input=folder, job_name="last")
    for job in (first, piped, last):
        assert settle(client, job.name) == "Completed"

    listed = list(client.jobs.list())
    assert [job.name for job in listed] == ["last", "piped", "first"]
    assert all(isinstance(job, PipelineJob) for job in listed)
    steps = [step.name for step in client.jobs.list(parent_job_name="piped")]
    assert len(steps) == 1 and steps[0] not in {job.name for job in listed}
    assert {job.name: str(job.status) for job in listed} == {
        name: str(client.jobs.get(name).status) for name in ("first", "piped", "last")
    }
    assert [j.name for j in client.jobs.list(list_view_type=ListViewType.ALL)] == [
        "last",
        "piped",
        "first",
    ]
    # No job is archived in the emulator: the archived view is empty.
    assert list(client.jobs.list(list_view_type=ListViewType.ARCHIVED_ONLY)) == []


def test_a_long_list_comes_in_pages_the_client_follows(
    arm_server: EmulatorServer, client: MLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert list(client.jobs.list()) == []
    workspace = WorkspaceStore(arm_server.root).find(SUB, "rg", "ws")
    assert workspace is not None
    jobs = BatchJobs(arm_server.root, workspace.id)
    for i in range(5):  # records only: the listing is what is read here
        jobs.create(f"job-{i}", "bep", "names", {}, str(arm_server.root.path / "jobs" / "{name}"))
    monkeypatch.setattr(job_list_responses, "PAGE_SIZE", 2)

    assert [job.name for job in client.jobs.list()] == [f"job-{i}" for i in (4, 3, 2, 1, 0)]
    token = DefaultAzureCredential().get_token(f"{arm_server.base_url}/.default").token
    page = requests.get(
        f"{arm_server.base_url}{WS}/jobs",
        params={"api-version": "2024-01-01-preview", "listViewType": "ActiveOnly"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    assert [job["name"] for job in page["value"]] == ["job-4", "job-3"]
    assert "$skip=2" in page["nextLink"] and "listViewType=ActiveOnly" in page["nextLink"]


def test_an_unknown_list_view_is_refused_naming_the_views(
    arm_server: EmulatorServer, client: MLClient
) -> None:
    token = DefaultAzureCredential().get_token(f"{arm_server.base_url}/.default").token
    answer = requests.get(
        f"{arm_server.base_url}{WS}/jobs",
        params={"api-version": "2024-01-01-preview", "listViewType": "Recent"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 400
    message = answer.json()["error"]["message"]
    assert "listViewType 'Recent'" in message and "ActiveOnly, ArchivedOnly, All" in message
