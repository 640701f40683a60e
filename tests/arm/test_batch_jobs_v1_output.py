"""A model deployment's job whose output names its datastore by name, through the real
azure-ai-ml: the v1 ``output_dataset`` override (az ml's ``--output-path`` with a datastore
name) reaches the service as ``outputData: {"output_name": {"jobOutputType": "UriFile",
"uri": ".../paths/<path>/<output file>"}}`` (the client's convert_v1_dataset_to_v2) and is the
job's ``score`` output; a bare ``azureml:<datastore>`` output path is refused naming the
datastore path to give instead."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.ai.ml import Input, MLClient, Output
from azure.core.exceptions import HttpResponseError

from tests.arm.batch_jobs_support import NAMES, client, deploy, input_folder, settle

__all__ = ["client"]  # the fixture, imported for the tests below


def test_a_v1_output_dataset_by_datastore_name_is_the_jobs_score_file(
    client: MLClient, tmp_path: Path
) -> None:
    deploy(client, tmp_path, "names", NAMES, mini_batch_size=10)
    job = client.batch_endpoints.invoke(
        endpoint_name="bep",
        input=Input(type="uri_folder", path=str(input_folder(tmp_path, 3))),
        params_override=[
            {"output_dataset.datastore_id": "azureml:workspaceblobstore"},
            {"output_dataset.path": "cli-out"},
            {"output_file_name": "scores.csv"},
        ],
    )
    assert settle(client, job.name) == "Completed"
    score = client.jobs.get(job.name).outputs["score"]
    uri = "azureml://datastores/workspaceblobstore/paths/cli-out/scores.csv"
    assert (score.path, score.type) == (uri, "uri_file")
    client.jobs.download(job.name, download_path=str(tmp_path / "out"), output_name="score")
    rows = (tmp_path / "out" / "scores.csv").read_text().split()
    assert sorted(rows) == ["f0.txt", "f1.txt", "f2.txt"]
    assert not (tmp_path / "out" / "predictions.csv").exists()


def test_a_bare_datastore_as_output_path_is_refused_naming_a_datastore_path(
    client: MLClient, tmp_path: Path
) -> None:
    deploy(client, tmp_path, "names", NAMES, mini_batch_size=10)
    with pytest.raises(
        HttpResponseError,
        match="for the datastore itself: azureml://datastores/workspaceblobstore/paths/<folder>/",
    ):
        client.batch_endpoints.invoke(
            endpoint_name="bep",
            input=Input(type="uri_folder", path=str(input_folder(tmp_path, 1))),
            outputs={"score": Output(path="azureml:workspaceblobstore")},
        )
    assert list(client.batch_endpoints.list_jobs("bep")) == []
