"""``batch_endpoints.invoke(..., outputs=..., params_override=...)`` through the real
azure-ai-ml: the job writes its ``score`` output where asked on the datastore (a folder with
the output file, or the output file itself) and ``jobs.download(name, output_name="score")``
fetches it from there; the settings it overrides take effect for that job only; what a job
cannot take is refused at invoke with no job made."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import requests
from azure.ai.ml import Input, MLClient, Output
from azure.ai.ml.entities import BatchRetrySettings
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from marshmallow.exceptions import ValidationError

from tests.arm.batch_jobs_support import client, deploy, input_folder, settle

__all__ = ["client"]  # the fixture, imported for the tests below

DATASTORE = "azureml://datastores/workspaceblobstore/paths"
#: One row per file: the size of the mini-batch it came in, and its name.
SIZES = """
import os

def init():
    pass

def run(mini_batch):
    return [f"{len(mini_batch)} {os.path.basename(path)}" for path in mini_batch]
"""
#: Fails the mini-batches holding f0.txt; scores the others.
FAILS_F0 = """
import os

def init():
    pass

def run(mini_batch):
    if any(os.path.basename(path) == "f0.txt" for path in mini_batch):
        raise ValueError("f0 cannot be scored")
    return [os.path.basename(path) for path in mini_batch]
"""


def _job_log(client: MLClient, name: str) -> str:
    """The job's driver log, in the folder its Web View (jobs.get's Studio service) names."""
    web_view = client.jobs.get(name).services["Studio"].endpoint
    return (Path(unquote(urlsplit(web_view).path)) / "user_logs" / "std_log.txt").read_text()


def test_the_output_goes_to_the_folder_asked_with_the_overridden_settings(
    client: MLClient, tmp_path: Path
) -> None:
    deploy(client, tmp_path, "sizes", SIZES, mini_batch_size=10)
    uri = f"{DATASTORE}/results/run-1/"
    job = client.batch_endpoints.invoke(
        endpoint_name="bep",
        input=Input(type="uri_folder", path=str(input_folder(tmp_path, 5))),
        outputs={"score": Output(type="uri_folder", path=uri)},
        params_override=[{"mini_batch_size": "2"}, {"output_file_name": "scores.csv"}],
        job_name=f"scores-{tmp_path.name}",
        experiment_name="nightly-scoring",
    )
    assert job.name == f"scores-{tmp_path.name}"
    assert settle(client, job.name) == "Completed"
    got = client.jobs.get(job.name)
    assert got.experiment_name == "nightly-scoring"
    assert (got.outputs["score"].path, got.outputs["score"].type) == (uri, "uri_folder")
    client.jobs.download(job.name, download_path=str(tmp_path / "out"), output_name="score")
    rows = sorted((tmp_path / "out" / "scores.csv").read_text().splitlines())
    # Mini-batches of 2 (the override), not the deployment's 10: 2 + 2 + 1 files.
    assert rows == ["1 f4.txt", "2 f0.txt", "2 f1.txt", "2 f2.txt", "2 f3.txt"]
    assert not (tmp_path / "out" / "predictions.csv").exists()
    # The next job without overrides runs with the deployment's own settings and default place.
    again = client.batch_endpoints.invoke(
        endpoint_name="bep", input=Input(type="uri_folder", path=str(tmp_path / "in"))
    )
    assert settle(client, again.name) == "Completed"
    client.jobs.download(again.name, download_path=str(tmp_path / "again"), output_name="score")
    rows = sorted((tmp_path / "again" / "predictions.csv").read_text().splitlines())
    assert rows == [f"5 f{i}.txt" for i in range(5)]
    assert (
        client.jobs.get(again.name)
        .outputs["score"]
        .path.endswith(f"/azureml/{again.name}-scoring/score/")
    )


def test_a_uri_file_output_is_the_output_file_itself(client: MLClient, tmp_path: Path) -> None:
    deploy(client, tmp_path, "sizes", SIZES, mini_batch_size=3)
    uri = f"{DATASTORE}/results/heart/predictions-{tmp_path.name}.csv"
    job = client.batch_endpoints.invoke(
        endpoint_name="bep",
        input=Input(type="uri_folder", path=str(input_folder(tmp_path, 4))),
        outputs={"score": Output(type="uri_file", path=uri)},
    )
    assert settle(client, job.name) == "Completed"
    assert client.jobs.get(job.name).outputs["score"].type == "uri_file"
    client.jobs.download(job.name, download_path=str(tmp_path / "out"), output_name="score")
    assert [p.name for p in (tmp_path / "out").iterdir()] == [f"predictions-{tmp_path.name}.csv"]
    rows = (tmp_path / "out" / f"predictions-{tmp_path.name}.csv").read_text().splitlines()
    assert sorted(rows) == ["1 f3.txt", "3 f0.txt", "3 f1.txt", "3 f2.txt"]
    # Another job reads it back from the datastore, as any input.
    again = client.batch_endpoints.invoke(
        endpoint_name="bep", input=Input(type="uri_file", path=uri)
    )
    assert settle(client, again.name) == "Completed"
    client.jobs.download(again.name, download_path=str(tmp_path / "again"), output_name="score")
    assert (tmp_path / "again" / "predictions.csv").read_text() == (
        f"1 predictions-{tmp_path.name}.csv\n"
    )


def test_retry_and_error_threshold_overrides_apply_to_the_job(
    client: MLClient, tmp_path: Path
) -> None:
    deploy(
        client,
        tmp_path,
        "lenient",
        FAILS_F0,
        mini_batch_size=1,
        error_threshold=-1,
        retry_settings=BatchRetrySettings(max_retries=3, timeout=30),
    )
    folder = input_folder(tmp_path, 3)
    lenient = client.batch_endpoints.invoke(
        endpoint_name="bep", input=Input(type="uri_folder", path=str(folder))
    )
    assert settle(client, lenient.name) == "Completed"  # no error limit: 1 of 3 files failed
    assert "Mini batch 0 failed after 3 tries" in _job_log(client, lenient.name)
    strict = client.batch_endpoints.invoke(
        endpoint_name="bep",
        input=Input(type="uri_folder", path=str(folder)),
        params_override=[{"error_threshold": 0}, {"retry_settings.max_retries": 1}],
    )
    assert settle(client, strict.name) == "Failed"
    log = _job_log(client, strict.name)
    assert "Mini batch 0 failed after 1 tries: ValueError: f0 cannot be scored" in log
    assert "exceeded the error_threshold (0)" in log


def test_an_instance_count_override_runs_that_many_instances(
    client: MLClient, tmp_path: Path
) -> None:
    deploy(client, tmp_path, "sizes", SIZES, mini_batch_size=1)
    job = client.batch_endpoints.invoke(
        endpoint_name="bep",
        input=Input(type="uri_folder", path=str(input_folder(tmp_path, 2))),
        params_override=[{"compute.instance_count": 2}],
    )
    assert settle(client, job.name) == "Completed"
    assert "(2 instances x 1 per instance" in _job_log(client, job.name)


@pytest.mark.parametrize(
    ("output", "refusal"),
    [
        (
            Output(type="uri_folder", path="azureml://datastores/otherstore/paths/out/"),
            "Datastore 'otherstore' of the output 'score'",
        ),
        (
            Output(type="uri_folder", path="https://example.com/out/"),
            "is not a datastore path",
        ),
        (
            Output(type="uri_file", path=f"{DATASTORE}/results/"),
            "names a folder: end it with the output file's name",
        ),
    ],
)
def test_an_output_a_job_cannot_write_is_refused_at_invoke(
    client: MLClient, tmp_path: Path, output: Output, refusal: str
) -> None:
    deploy(client, tmp_path, "sizes", SIZES, mini_batch_size=10)
    with pytest.raises(HttpResponseError, match=refusal) as refused:
        client.batch_endpoints.invoke(
            endpoint_name="bep",
            input=Input(type="uri_folder", path=str(input_folder(tmp_path, 1))),
            outputs={"score": output},
        )
    assert refused.value.status_code == 400
    assert list(client.batch_endpoints.list_jobs("bep")) == []


def test_an_override_out_of_range_is_refused_at_invoke(client: MLClient, tmp_path: Path) -> None:
    deploy(client, tmp_path, "sizes", SIZES, mini_batch_size=10)
    with pytest.raises(HttpResponseError, match="mini_batch_size is 0") as refused:
        client.batch_endpoints.invoke(
            endpoint_name="bep",
            input=Input(type="uri_folder", path=str(input_folder(tmp_path, 1))),
            params_override=[{"mini_batch_size": 0}],
        )
    assert refused.value.status_code == 400
    assert list(client.batch_endpoints.list_jobs("bep")) == []


def test_unknown_override_keys_are_refused(client: MLClient, tmp_path: Path) -> None:
    deploy(client, tmp_path, "sizes", SIZES, mini_batch_size=10)
    folder = str(input_folder(tmp_path, 1))
    # azure-ai-ml refuses keys its BatchJobSchema lacks before sending anything (measured) ...
    with pytest.raises(ValidationError, match="Unknown field"):
        client.batch_endpoints.invoke(
            endpoint_name="bep",
            input=Input(type="uri_folder", path=folder),
            params_override=[{"logging_level": "debug"}],
        )
    # ... and a client sending the REST body itself gets a 400 naming them.
    token = DefaultAzureCredential().get_token("https://ml.azure.com/.default").token
    answer = requests.post(
        client.batch_endpoints.get("bep").scoring_uri,
        json={
            "properties": {
                "inputData": {"in": {"jobInputType": "UriFolder", "uri": f"{DATASTORE}/x/"}},
                "loggingLevel": "debug",
            }
        },
        headers={"Authorization": f"Bearer {token}"},
        verify=os.environ["REQUESTS_CA_BUNDLE"],
        timeout=30,
    )
    assert answer.status_code == 400
    message = json.loads(answer.text)["error"]["message"]
    assert "'loggingLevel' are unknown" in message and "mini_batch_size" in message
    assert list(client.batch_endpoints.list_jobs("bep")) == []
