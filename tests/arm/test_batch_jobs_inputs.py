"""A batch job's inputs that are not there, through the real azure-ai-ml, as Azure treats
them: a data asset is resolved when the job is submitted, so one that does not exist is refused
at invoke (no job); a datastore path or an https URL is read by the job, so one that is not
there fails the job with Azure's data-access message. And ``aml_served_url``: an https input
served from a local folder for one test."""

from __future__ import annotations

import io
import threading
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from azure.ai.ml import Input, MLClient
from azure.ai.ml.exceptions import JobException
from azure.core.exceptions import ResourceNotFoundError
from pytest_amlemu.served_url_fixtures import ServeUrl, _ServedForTest

from emulator.arm import job_responses
from emulator.assets.served_urls import ServedUrls
from emulator.settings import ROOT_ENV
from emulator.store.root import EmulatorRoot
from tests.arm.batch_jobs_support import NAMES, client, deploy, input_folder, settle

__all__ = ["client"]  # the fixture, imported for the tests below


@pytest.fixture
def names(client: MLClient, tmp_path: Path) -> MLClient:
    """``client`` with the deployment ``names`` (one row per file: its name) on ``bep``."""
    deploy(client, tmp_path, "names", NAMES, mini_batch_size=2)
    return client


def _stream_failure(client: MLClient, name: str) -> str:
    """The JobException ``jobs.stream`` raises for the failed job ``name``."""
    with redirect_stdout(io.StringIO()), pytest.raises(JobException) as failed:
        client.jobs.stream(name)
    return str(failed.value)


def test_a_data_asset_that_does_not_exist_is_refused_at_invoke(names: MLClient) -> None:
    with pytest.raises(ResourceNotFoundError, match="data asset nothing:1 does not exist"):
        names.batch_endpoints.invoke(
            endpoint_name="bep", input=Input(type="uri_folder", path="azureml:nothing:1")
        )
    assert list(names.batch_endpoints.list_jobs("bep")) == []


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("azureml://datastores/workspaceblobstore/paths/nothing-here/", "No folder is there"),
        ("https://example.com/data/heart/", "This machine has no internet"),
    ],
)
def test_an_input_path_that_is_not_there_fails_the_job(
    names: MLClient, path: str, why: str
) -> None:
    job = names.batch_endpoints.invoke(
        endpoint_name="bep", input=Input(type="uri_folder", path=path)
    )
    assert job.status == "Preparing"
    assert settle(names, job.name) == "Failed"
    failure = _stream_failure(names, job.name)
    assert f"Found no resources for the input provided: '{path}'" in failure
    assert why in failure
    assert [j.status for j in names.batch_endpoints.list_jobs("bep")] == ["Failed"]


def test_a_served_url_is_read_by_the_job(
    names: MLClient, aml_served_url: ServeUrl, tmp_path: Path
) -> None:
    url = aml_served_url(input_folder(tmp_path, 3, "heart"))
    assert url.startswith("https://data.amlemu.test/") and url.endswith("/heart")
    job = names.batch_endpoints.invoke(
        endpoint_name="bep", input=Input(type="uri_folder", path=url)
    )
    assert settle(names, job.name) == "Completed"
    names.jobs.download(job.name, download_path=str(tmp_path / "out"), output_name="score")
    rows = (tmp_path / "out" / "predictions.csv").read_text().split()
    assert sorted(rows) == ["f0.txt", "f1.txt", "f2.txt"]
    # A file served at a URL of the test's choosing.
    one = aml_served_url(tmp_path / "heart" / "f1.txt", "https://example.com/heart.csv")
    job = names.batch_endpoints.invoke(endpoint_name="bep", input=Input(type="uri_file", path=one))
    assert settle(names, job.name) == "Completed"


def test_aml_served_url_takes_its_urls_back_and_restores_what_it_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "root"))
    served = ServedUrls(EmulatorRoot(tmp_path / "root"))
    (tmp_path / "before.csv").write_text("a")
    (tmp_path / "mine.csv").write_text("b")
    served.serve("https://example.com/kept.csv", tmp_path / "before.csv")
    fixture = _ServedForTest()
    fixture(tmp_path / "mine.csv", "https://example.com/kept.csv")
    made = fixture(tmp_path / "mine.csv")
    assert served.local_path(made) == tmp_path / "mine.csv"
    assert served.local_path("https://example.com/kept.csv") == tmp_path / "mine.csv"
    fixture.close()
    assert served.local_path(made) is None
    assert served.local_path("https://example.com/kept.csv") == tmp_path / "before.csv"


def test_a_job_canceled_while_its_inputs_are_read_never_starts_its_workers(
    names: MLClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reading, release = threading.Event(), threading.Event()
    materialize = job_responses._materialize

    def slow(*args: Any) -> list[Path]:  # a large input still downloading
        reading.set()
        release.wait(30)
        return materialize(*args)

    monkeypatch.setattr(job_responses, "_materialize", slow)
    job = names.batch_endpoints.invoke(
        endpoint_name="bep", input=Input(type="uri_folder", path=str(input_folder(tmp_path, 2)))
    )
    assert reading.wait(30)
    names.jobs.begin_cancel(job.name).result()
    release.set()
    assert settle(names, job.name) == "Canceled"
    web_view = names.jobs.get(job.name).services["Studio"].endpoint
    folder = Path(unquote(urlsplit(web_view).path))
    # The job's thread (in this process: the test's emulator) ends; it started no engine.
    deadline = time.monotonic() + 60
    while any(t.name == f"amlemu-batchjob-{job.name}" for t in threading.enumerate()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert settle(names, job.name) == "Canceled"
    assert not (folder / "logs" / "sys" / "master_role.txt").exists()
