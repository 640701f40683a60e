"""The batch flows issue 15 asks the suite to drive through the real azure-ai-ml, beyond those
of test_sdk_v2_batch.py and test_batch_jobs_*.py: tabular CSV input (a ``uri_folder`` and a
registered ``mltable`` data asset) read by ``run()`` with the csv module; ``summary_only``
(no output file); a failing mini-batch under the ``error_threshold`` (the job completes and its
logs count the failed file); a mini-batch that fails its first try and succeeds on the retry."""

from __future__ import annotations

import csv
from pathlib import Path
from urllib.parse import unquote, urlsplit

from azure.ai.ml import Input, MLClient
from azure.ai.ml.constants import AssetTypes, BatchDeploymentOutputAction
from azure.ai.ml.entities import BatchRetrySettings, Data

from tests.arm.batch_jobs_support import NAMES, client, deploy, input_folder, settle

__all__ = ["client"]  # the fixture, imported for the tests below

#: One row per CSV data row: the file's name and the row's cells; other files (the MLTable
#: file of an mltable input) are not data.
CSV_ROWS = """
import csv
import os

def init():
    pass

def run(mini_batch):
    rows = []
    for path in mini_batch:
        if not path.endswith(".csv"):
            continue
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                rows.append(f"{os.path.basename(path)} {row['age']} {row['target']}")
    return rows
"""
#: Fails every mini-batch holding a file named bad*; scores the others by name.
FAILS_BAD = """
import os

def init():
    pass

def run(mini_batch):
    names = [os.path.basename(path) for path in mini_batch]
    if any(name.startswith("bad") for name in names):
        raise ValueError("cannot score " + ", ".join(names))
    return names
"""
#: Fails each mini-batch's first try (a marker file per mini-batch in $TRIED_DIR remembers the
#: try across worker processes), scores it on the next.
FAILS_FIRST_TRY = """
import os
from pathlib import Path

def init():
    pass

def run(mini_batch):
    names = [os.path.basename(path) for path in mini_batch]
    marker = Path(os.environ["TRIED_DIR"]) / (names[0] + ".tried")
    if not marker.exists():
        marker.write_text("tried")
        raise RuntimeError("first try of " + names[0] + " fails")
    return names
"""
TABLES = {
    "heart-1.csv": [("age", "target"), ("63", "1"), ("37", "0")],
    "heart-2.csv": [("age", "target"), ("41", "1")],
}
MLTABLE = """\
paths:
  - pattern: ./*.csv
transformations:
  - read_delimited:
      delimiter: ','
      encoding: utf8
      header: all_files_same_headers
"""


def _csv_folder(tmp_path: Path, name: str, mltable: bool = False) -> Path:
    """The CSV files of ``TABLES`` in a folder (with an MLTable file when ``mltable``)."""
    folder = tmp_path / name
    folder.mkdir()
    for file_name, rows in TABLES.items():
        with open(folder / file_name, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
    if mltable:
        (folder / "MLTable").write_text(MLTABLE)
    return folder


def _job_folder(client: MLClient, name: str) -> Path:
    """The job's folder (logs/, user_logs/), the one its Web View (jobs.get's Studio service)
    names."""
    web_view = client.jobs.get(name).services["Studio"].endpoint
    return Path(unquote(urlsplit(web_view).path))


def _scores(client: MLClient, name: str, into: Path) -> list[str]:
    """The rows of the job's downloaded output file, sorted."""
    client.jobs.download(name, download_path=str(into), output_name="score")
    return sorted((into / "predictions.csv").read_text().splitlines())


def test_csv_files_are_read_by_run_as_a_uri_folder_and_as_an_mltable_data_asset(
    client: MLClient, tmp_path: Path
) -> None:
    deploy(client, tmp_path, "tabular", CSV_ROWS, mini_batch_size=1)
    expected = ["heart-1.csv 37 0", "heart-1.csv 63 1", "heart-2.csv 41 1"]
    folder_job = client.batch_endpoints.invoke(
        endpoint_name="bep", input=Input(type="uri_folder", path=str(_csv_folder(tmp_path, "f")))
    )
    assert settle(client, folder_job.name) == "Completed"
    assert _scores(client, folder_job.name, tmp_path / "out-folder") == expected

    table = client.data.create_or_update(
        Data(
            name="heart",
            version="1",
            type=AssetTypes.MLTABLE,
            path=str(_csv_folder(tmp_path, "t", mltable=True)),
        )
    )
    assert table.type == "mltable"
    # invoke(input=...) takes uri_file / uri_folder only (azure-ai-ml refuses an mltable there
    # before sending anything): an mltable input goes in inputs={...}.
    table_job = client.batch_endpoints.invoke(
        endpoint_name="bep",
        inputs={"heart": Input(type=AssetTypes.MLTABLE, path="azureml:heart:1")},
    )
    assert settle(client, table_job.name) == "Completed"
    assert _scores(client, table_job.name, tmp_path / "out-table") == expected


def test_summary_only_completes_without_an_output_file(client: MLClient, tmp_path: Path) -> None:
    deploy(
        client,
        tmp_path,
        "summary",
        NAMES,
        mini_batch_size=2,
        output_action=BatchDeploymentOutputAction.SUMMARY_ONLY,
    )
    assert client.batch_deployments.get("summary", "bep").output_action == "summary_only"
    job = client.batch_endpoints.invoke(
        endpoint_name="bep", input=Input(type="uri_folder", path=str(input_folder(tmp_path, 3)))
    )
    assert settle(client, job.name) == "Completed"
    client.jobs.download(job.name, download_path=str(tmp_path / "out"), output_name="score")
    assert not list((tmp_path / "out").rglob("predictions.csv"))
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    # The job did score every file: its report lists the two mini-batches, both succeeded.
    report = _job_folder(client, job.name) / "logs/sys/job_report/processed_mini-batches.csv"
    with open(report, newline="", encoding="utf-8") as handle:
        statuses = [row["status"] for row in csv.DictReader(handle)]
    assert statuses == ["succeeded", "succeeded"]


def test_a_failing_mini_batch_under_the_error_threshold_completes_the_job(
    client: MLClient, tmp_path: Path
) -> None:
    deploy(
        client,
        tmp_path,
        "lenient",
        FAILS_BAD,
        mini_batch_size=1,
        error_threshold=2,
        retry_settings=BatchRetrySettings(max_retries=2, timeout=30),
    )
    folder = input_folder(tmp_path, 3)
    (folder / "bad.txt").write_text("unreadable")
    job = client.batch_endpoints.invoke(
        endpoint_name="bep", input=Input(type="uri_folder", path=str(folder))
    )
    assert settle(client, job.name) == "Completed"  # 1 failed file, threshold 2
    assert _scores(client, job.name, tmp_path / "out") == ["f0.txt", "f1.txt", "f2.txt"]
    logs = _job_folder(client, job.name) / "logs"
    progress = sorted(logs.glob("job_progress_overview.*.txt"))
    assert progress, "no logs/job_progress_overview.<hour>.txt"
    last = progress[-1].read_text().splitlines()[-1]
    assert "4 mini batches created; 4 processed (3 succeeded, 1 failed; 1 items failed)" in last
    assert "bad.txt" in (logs / "job_error.txt").read_text()
    assert "ValueError: cannot score bad.txt" in (logs / "user" / "error.txt").read_text()
    master = (logs / "sys" / "master_role.txt").read_text()
    assert "failed after 2 tries: ValueError: cannot score bad.txt" in master


def test_a_mini_batch_failing_its_first_try_succeeds_on_the_retry(
    client: MLClient, tmp_path: Path
) -> None:
    tried = tmp_path / "tried"
    tried.mkdir()
    deploy(
        client,
        tmp_path,
        "flaky",
        FAILS_FIRST_TRY,
        mini_batch_size=2,
        error_threshold=0,
        retry_settings=BatchRetrySettings(max_retries=3, timeout=30),
        environment_variables={"TRIED_DIR": str(tried)},
    )
    job = client.batch_endpoints.invoke(
        endpoint_name="bep", input=Input(type="uri_folder", path=str(input_folder(tmp_path, 4)))
    )
    assert settle(client, job.name) == "Completed"
    assert _scores(client, job.name, tmp_path / "out") == [f"f{i}.txt" for i in range(4)]
    # Each of the two mini-batches failed once, then ran again and succeeded.
    assert sorted(p.name for p in tried.iterdir()) == ["f0.txt.tried", "f2.txt.tried"]
    logs = _job_folder(client, job.name) / "logs"
    report = logs / "sys" / "job_report" / "processed_mini-batches.csv"
    with open(report, newline="", encoding="utf-8") as handle:
        tries = sorted((row["status"], row["tries"]) for row in csv.DictReader(handle))
    assert tries == [("succeeded", "2"), ("succeeded", "2")]
    master = (logs / "sys" / "master_role.txt").read_text()
    assert master.count("failed on try 1 of 3 (") == 2
    assert "first try of f0.txt fails" in (logs / "user" / "error.txt").read_text()
