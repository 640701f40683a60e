"""``amlemu ml compute|data|batch-endpoint|batch-deployment|job``: the documented ``az ml`` batch
quickstart (a cluster, an endpoint, a ``type: model`` deployment made the default, an invoke on a
local folder, then ``job show``/``stream``/``download``) on Microsoft-style YAML, run by the real
``azure-ai-ml``; each printed entity is compared, field by field, with what the SDK's own entity
serializes when a separate ``MLClient`` reads it back."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from emulator.cli.main import main
from emulator.cli.ml.invoke_file import read_job_ports
from emulator.cli.ml.job_verbs import job_dict
from emulator.cli.ml.specs import entity_dict
from emulator.daemon.session import v2_session
from emulator.exceptions import InvalidSetting
from emulator.settings import BUILDER_ENV, ROOT_ENV
from emulator.store.root import EmulatorRoot

with warnings.catch_warnings():  # azure-ai-ml 1.35 warns about marshmallow 4 while importing
    warnings.simplefilter("ignore")
    import azure.ai.ml as ml
    from azure.ai.ml import MLClient
    from azure.ai.ml.operations._run_history_constants import RunHistoryConstants
    from azure.ai.ml.operations._run_operations import RunOperations
    from azure.identity import ManagedIdentityCredential

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:The `context` parameter is deprecated"),
]

WORKSPACE = ("--subscription", "sub", "-g", "rg", "-w", "ws")
FOREIGN = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZUREML_CURRENT_CLOUD")

ENDPOINT_YML = """\
$schema: https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json
name: mnist-batch
description: A batch endpoint for scoring files.
tags:
  type: quickstart
"""

DEPLOYMENT_YML = """\
$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
name: mnist-dpl
description: A deployment scoring each file.
endpoint_name: mnist-batch
type: model
model:
  name: mnist-model
  path: model
code_configuration:
  code: code
  scoring_script: batch_driver.py
environment:
  name: batch-env
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
compute: azureml:cpu-cluster
resources:
  instance_count: 1
settings:
  max_concurrency_per_instance: 2
  mini_batch_size: 2
  output_action: append_row
  output_file_name: predictions.csv
  retry_settings:
    max_retries: 3
    timeout: 30
  error_threshold: -1
  logging_level: info
"""

#: init() waits for the gate file, then reads the model's file once; run() writes one row per file:
#: "<file>,<weights>,<files in its mini-batch>".
DRIVER = """\
import os
import time

GATE = {gate!r}

def init():
    global weights
    deadline = time.monotonic() + 60
    while not os.path.exists(GATE) and time.monotonic() < deadline:
        time.sleep(0.05)  # a model that loads when the test says so (see the quickstart)
    path = os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "weights.txt")
    weights = open(path).read().strip()
    print("init done")

def run(mini_batch):
    size = str(len(mini_batch))
    return [",".join((os.path.basename(path), weights, size)) for path in mini_batch]
"""

SLOW_DRIVER = """\
import time

def init():
    pass

def run(mini_batch):
    time.sleep(60)
    return mini_batch
"""

DATA_YML = """\
$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json
name: sample-files
description: files to score
type: uri_folder
path: in
"""

COMPUTE_YML = """\
$schema: https://azuremlschemas.azureedge.net/latest/amlCompute.schema.json
name: yaml-cluster
type: amlcompute
size: standard_ds3_v2
min_instances: 0
max_instances: 3
"""

FILES = 5


def write_project(where: Path) -> Path:
    """The quickstart's files, as Microsoft's batch samples lay them out."""
    (where / "code").mkdir(parents=True)
    (where / "model").mkdir()
    (where / "in").mkdir()
    (where / "endpoint.yml").write_text(ENDPOINT_YML)
    (where / "deployment.yml").write_text(DEPLOYMENT_YML)
    (where / "data.yml").write_text(DATA_YML)
    (where / "compute.yml").write_text(COMPUTE_YML)
    (where / "code" / "batch_driver.py").write_text(DRIVER.format(gate=str(where / "gate")))
    (where / "gate").touch()
    (where / "code" / "slow_driver.py").write_text(SLOW_DRIVER)
    (where / "model" / "weights.txt").write_text("w1\n")
    for number in range(1, FILES + 1):
        (where / "in" / f"f{number}.txt").write_text(str(number))
    return where


class Cli:
    """``amlemu ml`` in this process (azure-ai-ml imported once), as a shell script calls it."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self.capsys = capsys

    def run(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["ml", *argv])
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *argv: str) -> str:
        code, out, err = self.run(*argv)
        assert code == 0, err
        return out

    def json(self, *argv: str) -> Any:
        return json.loads(self.ok(*argv))

    @contextlib.contextmanager
    def sdk(self) -> Iterator[MLClient]:
        """A separate ``MLClient`` on the same root: what the SDK itself reads back."""
        with warnings.catch_warnings(), v2_session(EmulatorRoot(self.root)):
            warnings.simplefilter("ignore")
            yield MLClient(ManagedIdentityCredential(), "sub", "rg", "ws")


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN and not k.startswith("DOCKER_")}
    env[BUILDER_ENV] = "host"  # the deployment's image is this interpreter: no installs
    env["HOME"] = str(tmp_path / "home")
    return env


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``amlemu ml`` from the quickstart's folder on a fresh root with no daemon."""
    root = tmp_path / "root"
    monkeypatch.setenv(ROOT_ENV, str(root))
    monkeypatch.setenv(BUILDER_ENV, "host")
    for name in FOREIGN:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(write_project(tmp_path / "project"))
    return Cli(root, capsys)


@pytest.fixture
def daemon_cli(cli: Cli, tmp_path: Path) -> Iterator[Cli]:
    """The same, with ``amlemu up --detach`` serving the root (jobs outlive each command)."""

    def amlemu(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "emulator", "--root", str(cli.root), *args],
            env=_environment(tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
        )

    started = amlemu("up", "--detach", "--port", "0")
    assert started.returncode == 0, started.stderr
    try:
        yield cli
    finally:
        amlemu("down")


def _settled(cli: Cli, job: str, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = cli.ok("job", "show", "-n", job, "--query", "status", "-o", "tsv").strip()
        if status in ("Completed", "Failed", "Canceled") or time.monotonic() > deadline:
            return status
        time.sleep(0.5)


def test_the_batch_quickstart_runs_end_to_end_against_the_daemon(
    daemon_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = daemon_cli
    gate = Path("gate").resolve()
    details = RunOperations.get_run_details

    def seen_then_opened(self: RunOperations, run_id: str) -> Any:
        found = details(self, run_id)
        gate.touch()
        return found

    monkeypatch.setattr(RunOperations, "get_run_details", seen_then_opened)
    # The client sleeps max(2, ...) s between its looks at the job; 1 s keeps the test short.
    monkeypatch.setattr(RunHistoryConstants, "_WAIT_COMPLETION_POLLING_INTERVAL_MIN", 1)
    # az ml compute create -n cpu-cluster --type amlcompute --min-instances 0 --max-instances 2
    cluster = cli.json(
        "compute", "create", "-n", "cpu-cluster", "--type", "amlcompute", "--size",
        "Standard_DS3_v2", "--min-instances", "0", "--max-instances", "2", *WORKSPACE,
    )  # fmt: skip
    assert (cluster["name"], cluster["type"], cluster["size"]) == (
        "cpu-cluster",
        "amlcompute",
        "Standard_DS3_v2",
    )
    assert (cluster["min_instances"], cluster["max_instances"]) == (0, 2)
    assert cluster["provisioning_state"] == "Succeeded"

    endpoint = cli.json("batch-endpoint", "create", "-f", "endpoint.yml", *WORKSPACE)
    assert (endpoint["name"], endpoint["auth_mode"]) == ("mnist-batch", "aad_token")
    assert endpoint["tags"] == {"type": "quickstart"}
    assert endpoint["scoring_uri"].endswith("/mnist-batch/jobs")

    deployed = cli.run(
        "batch-deployment", "create", "-f", "deployment.yml", "--set-default", *WORKSPACE
    )
    assert deployed[0] == 0, deployed[2]
    assert "Uploading model" in deployed[2]  # the SDK's upload bars: on stderr, not stdout
    deployment = json.loads(deployed[1])
    assert (deployment["name"], deployment["endpoint_name"]) == ("mnist-dpl", "mnist-batch")
    assert deployment["provisioning_state"] == "Succeeded"
    assert (deployment["mini_batch_size"], deployment["max_concurrency_per_instance"]) == (2, 2)
    assert (deployment["output_action"], deployment["output_file_name"]) == (
        "append_row",
        "predictions.csv",
    )
    assert deployment["retry_settings"] == {"max_retries": 3, "timeout": 30}
    assert (deployment["error_threshold"], deployment["logging_level"]) == (-1, "info")
    assert deployment["compute"].endswith("/computes/cpu-cluster")
    show_default = (
        "batch-endpoint", "show", "-n", "mnist-batch", "--query", "defaults.deployment_name",
        "-o", "tsv",
    )  # fmt: skip
    assert cli.ok(*show_default) == "mnist-dpl\n"

    # JOB=$(az ml batch-endpoint invoke --name ... --input <folder> --input-type uri_folder
    #       --query name -o tsv)
    gate.unlink()
    job = cli.ok(
        "batch-endpoint", "invoke", "--name", "mnist-batch", "--input", "in", "--input-type",
        "uri_folder", "--query", "name", "-o", "tsv",
    ).strip()  # fmt: skip
    assert job.startswith("batchjob-")
    # az ml job stream: the SDK prints the job's log to stdout as it is written (the command's
    # output) and returns when the job ends. The scoring script's init() waits for the gate,
    # opened once the client has seen the job running: its log is then streamed whatever the
    # machine's load (a job over before the client's first look prints none, on Azure too).
    code, streamed, err = cli.run("job", "stream", "-n", job)
    assert code == 0, err
    assert streamed.startswith(f"RunId: {job}\n")
    assert "Streaming user_logs/std_log.txt" in streamed, streamed
    assert "Job started: 5 items in 3 mini batches of up to 2" in streamed
    assert "Job completed: 3 of 3 mini batches succeeded" in streamed
    assert streamed.index("Streaming user_logs") < streamed.index("Execution Summary")
    assert cli.ok("job", "show", "-n", job, "--query", "status", "-o", "tsv") == "Completed\n"

    shown = cli.json("job", "show", "-n", job)
    assert (shown["name"], shown["type"], shown["status"]) == (job, "pipeline", "Completed")
    assert shown["tags"]["azureml.deploymentname"] == "mnist-dpl"
    assert shown["outputs"]["score"]["path"].endswith(f"/azureml/{job}-scoring/score/")
    assert shown["inputs"]["UriFolder"]["type"] == "uri_folder"
    steps = cli.json("job", "list", "--parent-job-name", job)
    assert [(step["display_name"], step["status"]) for step in steps] == [
        ("batchscoring", "Completed")
    ]
    listed = cli.json("batch-endpoint", "list-jobs", "--name", "mnist-batch")
    assert [(item["name"], item["status"]) for item in listed] == [(job, "Completed")]

    assert cli.ok("job", "download", "-n", job, "--output-name", "score", "-p", "out") == ""
    rows = [row.split(",") for row in Path("out", "predictions.csv").read_text().split()]
    assert sorted(name for name, _, _ in rows) == [f"f{n}.txt" for n in range(1, FILES + 1)]
    assert {weights for _, weights, _ in rows} == {"w1"}
    # mini_batch_size: 2 → five files in mini-batches of 2, 2 and 1.
    assert sorted(size for _, _, size in rows) == ["1", "2", "2", "2", "2"]

    # What each command printed is what the SDK's own entities serialize.
    with cli.sdk() as client:
        assert cluster == entity_dict(client.compute.get("cpu-cluster"))
        assert endpoint == entity_dict(client.batch_endpoints.get("mnist-batch")) | {
            "defaults": {}  # the default was set after the create printed it
        }
        assert deployment == entity_dict(client.batch_deployments.get("mnist-dpl", "mnist-batch"))
        assert shown == job_dict(client.jobs.get(job))
        assert steps == [job_dict(step) for step in client.jobs.list(parent_job_name=job)]
        assert listed == [
            item._to_dict() for item in client.batch_endpoints.list_jobs("mnist-batch")
        ]

    # A second deployment from the same YAML, its scoring script set by --set; a job on it
    # canceled while run() sleeps.
    slow = cli.json(
        "batch-deployment", "create", "-f", "deployment.yml", "-n", "slow-dpl", "--set",
        "code_configuration.scoring_script=slow_driver.py",
    )  # fmt: skip
    assert slow["code_configuration"]["scoring_script"] == "slow_driver.py"
    assert cli.ok(*show_default) == "mnist-dpl\n"  # no --set-default: the default stays
    slow_job = cli.ok(
        "batch-endpoint", "invoke", "-n", "mnist-batch", "-d", "slow-dpl", "--input", "in",
        "--query", "name", "-o", "tsv",
    ).strip()  # fmt: skip
    assert cli.ok("job", "cancel", "-n", slow_job) == ""  # az ml job cancel prints nothing
    assert _settled(cli, slow_job) == "Canceled"

    # update without a file: the deployment as it is, with --set over it.
    updated = cli.json(
        "batch-deployment", "update", "-n", "mnist-dpl", "-e", "mnist-batch", "--set",
        "mini_batch_size=5",
    )  # fmt: skip
    assert (updated["mini_batch_size"], updated["output_file_name"]) == (5, "predictions.csv")
    names = cli.ok(
        "batch-deployment", "list", "-e", "mnist-batch", "--query", "[].name", "-o", "tsv"
    )
    assert names.split() == ["mnist-dpl", "slow-dpl"]
    assert cli.ok("batch-endpoint", "delete", "-n", "mnist-batch", "--yes") == ""
    assert cli.json("batch-endpoint", "list") == []
    assert cli.ok("compute", "delete", "-n", "cpu-cluster", "--yes") == ""
    assert cli.json("compute", "list") == []


def test_data_assets_are_created_shown_listed_archived_and_restored(cli: Cli) -> None:
    created = cli.json("data", "create", "-f", "data.yml", *WORKSPACE)
    assert (created["name"], created["version"], created["type"]) == (
        "sample-files",
        "1",
        "uri_folder",
    )
    # The SDK uploaded the local folder to the default datastore, as az ml data create does.
    assert created["path"].startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
    assert created["path"].rstrip("/").endswith("/in")
    # Flags override the YAML: a second version, a file this time.
    second = cli.json(
        "data", "create", "-f", "data.yml", "--type", "uri_file", "--path", "in/f1.txt",
        "--description", "one file",
    )  # fmt: skip
    assert (second["version"], second["type"], second["description"]) == (
        "2",
        "uri_file",
        "one file",
    )
    latest = cli.json("data", "show", "-n", "sample-files", "--label", "latest")
    assert latest == second
    versions = cli.ok("data", "list", "-n", "sample-files", "--query", "[].version", "-o", "tsv")
    assert sorted(versions.split()) == ["1", "2"]

    assert cli.ok("data", "archive", "-n", "sample-files", "--version", "1") == ""
    active = cli.ok("data", "list", "-n", "sample-files", "--query", "[].version", "-o", "tsv")
    assert active.split() == ["2"]
    archived = cli.ok(
        "data", "list", "-n", "sample-files", "--archived-only", "--query", "[].version", "-o",
        "tsv",
    )  # fmt: skip
    assert archived.split() == ["1"]
    everything = cli.ok(
        "data", "list", "-n", "sample-files", "--include-archived", "--query", "[].version",
        "-o", "tsv",
    )  # fmt: skip
    assert sorted(everything.split()) == ["1", "2"]
    assert cli.ok("data", "restore", "-n", "sample-files", "--version", "1") == ""
    assert cli.json("data", "show", "-n", "sample-files", "-v", "1")["name"] == "sample-files"
    with cli.sdk() as client:
        assert latest == entity_dict(client.data.get("sample-files", version="2"))


def test_without_a_daemon_invoke_waits_for_its_job_on_a_data_asset_input(cli: Cli) -> None:
    """No ``amlemu up``: the job runs in the command's own server, so invoke waits for it (and
    says so); the next commands read its outcome and output from the root."""
    cluster = cli.json("compute", "create", "-f", "compute.yml", "-n", "cpu-cluster", *WORKSPACE)
    assert (cluster["name"], cluster["size"], cluster["max_instances"]) == (
        "cpu-cluster",
        "Standard_DS3_v2",  # matched case-insensitively, printed as Azure names it
        3,
    )
    cli.ok("data", "create", "-f", "data.yml")
    cli.ok("batch-endpoint", "create", "-f", "endpoint.yml", "-n", "solo-ep")
    cli.ok("batch-deployment", "create", "-f", "deployment.yml", "-e", "solo-ep")
    code, out, err = cli.run(
        "batch-endpoint", "invoke", "-n", "solo-ep", "--input", "azureml:sample-files:1",
        "--deployment-name", "mnist-dpl",
    )  # fmt: skip
    assert code == 0, err
    job = json.loads(out)
    assert set(job) == {"id", "name", "type", "status"}  # the SDK's BatchJob, as invoke returns it
    assert job["type"] == "Microsoft.MachineLearningServices/workspaces/batchEndpoints/jobs"
    assert "no emulator daemon runs" in err
    assert f"job {job['name']} runs in this command's server; waiting" in err
    assert f"job {job['name']} ended Completed" in err
    assert (
        cli.ok("job", "show", "-n", job["name"], "--query", "status", "-o", "tsv") == "Completed\n"
    )
    cli.ok("job", "download", "-n", job["name"], "--output-name", "score")
    assert len(Path("predictions.csv").read_text().split()) == FILES

    # az ml's job overrides: the mini-batch size, where the output goes and its file's name.
    output = "azureml://datastores/workspaceblobstore/paths/cli-out"
    overridden = cli.ok(
        "batch-endpoint", "invoke", "-n", "solo-ep", "--input", "in", "--mini-batch-size", "5",
        "--instance-count", "2", "--output-path", output, "--set", "output_file_name=scores.csv",
        "--query", "name", "-o", "tsv",
    ).strip()  # fmt: skip
    shown = cli.json("job", "show", "-n", overridden)
    assert shown["status"] == "Completed"
    assert shown["outputs"]["score"]["path"].rstrip("/") == output
    cli.ok("job", "download", "-n", overridden, "--output-name", "score", "-p", "over")
    rows = [row.split(",") for row in Path("over", "scores.csv").read_text().split()]
    assert [size for _, _, size in rows] == ["5"] * FILES  # one mini-batch of all five
    # The job's files, where its Web View points: the driver's log names the instance count.
    files = Path(urlparse(shown["services"]["Studio"]["endpoint"]).path)
    log = (files / "user_logs" / "std_log.txt").read_text()
    assert "Job started: 5 items in 1 mini batches of up to 5" in log
    assert "(2 instances x 2 per instance" in log


BAD_YAML = "name: ep\ndescription: [unclosed\n"
BAD_DEPLOYMENT = """\
name: d1
endpoint_name: ep
type: model
model: azureml:m:1
settings:
  mini_batch_sise: 3
"""


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (
            ["batch-deployment", "create", "-f", "missing.yml"],
            1,
            "ERROR: --file missing.yml: the file does not exist",
        ),
        (
            ["batch-endpoint", "create", "-f", "bad.yml"],
            1,
            "ERROR: Error while parsing yaml file: bad.yml",
        ),
        (["batch-deployment", "create", "-f", "schema.yml"], 1, "mini_batch_sise"),
        (
            ["batch-endpoint", "show", "-n", "nope"],
            3,
            "ERROR: (ResourceNotFound) Batch endpoint 'nope' does not exist",
        ),
        (["batch-deployment", "show", "-n", "d", "-e", "nope"], 3, "ERROR: (ResourceNotFound)"),
        (["job", "show", "-n", "nope"], 3, "ERROR: (UserError) Job 'nope' does not exist"),
        (["compute", "show", "-n", "nope"], 3, "ERROR: (ResourceNotFound)"),
        (["data", "show", "-n", "nope", "-v", "1"], 3, "ERROR: (ResourceNotFound)"),
        # The SDK's own formatting of its validation errors (written for az ml).
        (["data", "show", "-n", "nope"], 1, "(x) Must provide either version or label."),
        (
            ["compute", "create", "-n", "c1", "--type", "amlcompute", "--size", "Standard_NOPE"],
            1,
            "Standard_NOPE",
        ),
        (["compute", "create", "-n", "c1"], 1, "ERROR: Unknown compute type: None"),
        (
            ["batch-endpoint", "delete", "-n", "nope"],
            1,
            "ERROR: Unable to prompt for confirmation as no tty available. Use --yes.",
        ),
        (
            ["batch-endpoint", "invoke", "-n", "ep", "--output-path", "out/"],
            1,
            "ERROR: --output-path out/: give a folder on a datastore as "
            "azureml://datastores/<datastore-name>/paths/<path>",
        ),
        (
            ["batch-endpoint", "invoke", "-n", "ep", "-f", "data.yml"],
            1,
            "ERROR: --file data.yml: unknown field(s) '$schema', 'description', 'name', 'path', "
            "'type'; an invoke file holds `inputs:` and `outputs:` only.",
        ),
        (
            ["batch-endpoint", "invoke", "-n", "ep", "-f", "data.yml", "--input", "in"],
            1,
            "ERROR: Give the job's input with --input or its inputs with --file/-f, not both.",
        ),
        (
            ["batch-endpoint", "invoke", "-n", "ep", "--input-type", "uri_file"],
            1,
            "ERROR: --input-type applies to --input: give --input PATH as well.",
        ),
        (
            ["batch-deployment", "create", "-f", "deployment.yml", "--no-wait"],
            1,
            "ERROR: --no-wait needs a running emulator: no daemon runs for",
        ),
        (
            ["batch-deployment", "update", "-n", "d1"],
            1,
            "ERROR: Give the deployment to update: --name/-n and --endpoint-name/-e, or "
            "--file/-f with its YAML.",
        ),
        # azure-ai-ml's get_list_view_type refuses the pair (az ml data|job list call it).
        (
            ["data", "list", "--include-archived", "--archived-only"],
            1,
            "ERROR: Cannot provide both archived-only and include-archived. Give "
            "--include-archived to list archived ones too, or --archived-only",
        ),
        (
            ["job", "list", "--archived-only", "--include-archived"],
            1,
            "ERROR: Cannot provide both archived-only and include-archived.",
        ),
    ],
)
def test_bad_input_fails_like_az_ml(cli: Cli, argv: list[str], code: int, message: str) -> None:
    Path("bad.yml").write_text(BAD_YAML)
    Path("schema.yml").write_text(BAD_DEPLOYMENT)
    got, out, err = cli.run(*argv, *WORKSPACE)
    assert (got, out) == (code, "")
    assert message in err
    if "schema.yml" in argv:
        assert "Unknown field" in err  # the SDK's model deployment schema names the field


def test_an_invoke_on_an_endpoint_without_deployments_says_so(cli: Cli) -> None:
    cli.ok("batch-endpoint", "create", "-f", "endpoint.yml", *WORKSPACE)
    code, out, err = cli.run("batch-endpoint", "invoke", "-n", "mnist-batch", "--input", "in")
    assert (code, out) == (1, "")
    assert "has no default deployment" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["batch-endpoint", "invoke", "-n", "ep", "--mini-batch-size", "0"], "--mini-batch-size"),
        (["batch-endpoint", "invoke", "-n", "ep", "--input-type", "mltable"], "invalid choice"),
        (["compute", "create", "-n", "c", "--max-instances", "two"], "--max-instances 'two'"),
        (["data", "create", "-n", "d", "--type", "csv"], "invalid choice"),
        (["job", "list", "--max-results", "-1"], "--max-results"),
    ],
)
def test_bad_flags_are_usage_errors(
    cli: Cli, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as usage:
        main(["ml", *argv])
    assert usage.value.code == 2
    assert message in capsys.readouterr().err


PIPELINE_COMPONENT_YML = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineComponent.schema.json
type: pipeline
name: upper_batch
version: 1
inputs:
  words:
    type: uri_folder
  suffix:
    type: string
outputs:
  shouted:
    type: uri_folder
jobs:
  upper:
    type: command
    inputs:
      words: ${{parent.inputs.words}}
      suffix: ${{parent.inputs.suffix}}
    outputs:
      shouted: ${{parent.outputs.shouted}}
    component:
      type: command
      name: upper_step
      version: 1
      code: src
      environment:
        image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
      inputs:
        words:
          type: uri_folder
        suffix:
          type: string
      outputs:
        shouted:
          type: uri_folder
      command: >-
        python upper.py --words ${{inputs.words}} --suffix ${{inputs.suffix}}
        --out ${{outputs.shouted}}
"""

UPPER = """\
import argparse, pathlib

parser = argparse.ArgumentParser()
for flag in ("--words", "--suffix", "--out"):
    parser.add_argument(flag)
args = parser.parse_args()
words = sorted(pathlib.Path(args.words).glob("*.txt"))
rows = [path.read_text().strip().upper() + args.suffix for path in words]
(pathlib.Path(args.out) / "shouted.txt").write_text("\\n".join(rows) + "\\n")
print("shouted", len(rows), "words")
"""

PIPELINE_DEPLOYMENT_YML = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineComponentBatchDeployment.schema.json
name: upper-dpl
endpoint_name: words-batch
type: pipeline
component: ./upper/component.yml
settings:
  default_compute: cpu-cluster
"""

#: az ml batch-endpoint invoke -f: the job's named inputs (a local folder, a literal).
INVOKE_YML = """\
inputs:
  words:
    type: uri_folder
    path: ../words
  suffix:
    type: string
    default: "!"
"""


def test_a_pipeline_deployment_from_yaml_runs_a_job_invoked_with_an_inputs_file(cli: Cli) -> None:
    (Path("upper") / "src").mkdir(parents=True)
    Path("upper", "component.yml").write_text(PIPELINE_COMPONENT_YML)
    Path("upper", "src", "upper.py").write_text(UPPER)
    Path("pipeline-deployment.yml").write_text(PIPELINE_DEPLOYMENT_YML)
    Path("jobs").mkdir()
    Path("jobs", "inputs.yml").write_text(INVOKE_YML)  # paths relative to this file
    Path("words").mkdir()
    for word in ("alpha", "beta", "gamma"):
        Path("words", f"{word}.txt").write_text(word)
    cli.ok("compute", "create", "-n", "cpu-cluster", "--type", "amlcompute", *WORKSPACE)
    cli.ok("batch-endpoint", "create", "-f", "endpoint.yml", "-n", "words-batch")

    deployment = cli.json("batch-deployment", "create", "-f", "pipeline-deployment.yml")
    assert (deployment["name"], deployment["type"]) == ("upper-dpl", "pipeline")
    assert deployment["settings"] == {"default_compute": "cpu-cluster"}
    assert "/components/" in deployment["component"]  # registered by the SDK from the file

    job = cli.json("batch-endpoint", "invoke", "-n", "words-batch", "-f", "jobs/inputs.yml")
    shown = cli.json("job", "show", "-n", job["name"])
    assert (shown["type"], shown["status"]) == ("pipeline", "Completed")
    steps = cli.json("job", "list", "-p", job["name"], "--query", "[].[display_name, status]")
    assert steps == [["upper", "Completed"]]
    cli.ok("job", "download", "-n", job["name"], "--output-name", "shouted", "-p", "out")
    shouted = Path("out", "named-outputs", "shouted", "shouted.txt").read_text()
    assert shouted.split() == ["ALPHA!", "BETA!", "GAMMA!"]


def test_an_invoke_file_gives_the_sdks_inputs_and_outputs(tmp_path: Path) -> None:
    spec = tmp_path / "jobs" / "inputs.yml"
    spec.parent.mkdir()
    spec.write_text(
        "inputs:\n"
        "  data: {type: uri_file, path: ../in/f1.txt}\n"
        "  asset: {path: 'azureml:sample-files@latest'}\n"
        "  threshold: {type: number, default: 0.5}\n"
        "outputs:\n"
        "  score: {type: uri_folder, path: 'azureml://datastores/workspaceblobstore/paths/o'}\n"
    )
    ports = read_job_ports(spec, ml)
    assert (ports.inputs["data"].type, ports.inputs["data"].path) == (
        "uri_file",
        str(tmp_path / "in" / "f1.txt"),  # relative to the file
    )
    assert (ports.inputs["asset"].type, ports.inputs["asset"].path) == (
        "uri_folder",
        "azureml:sample-files@latest",
    )
    assert (ports.inputs["threshold"].type, ports.inputs["threshold"].default) == ("number", 0.5)
    score = ports.outputs["score"]
    assert (score.type, score.path) == (
        "uri_folder",
        "azureml://datastores/workspaceblobstore/paths/o",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("inputs:\n  data: ./in\n", "Input 'data' is './in': give it as a mapping"),
        ("inputs:\n  data: {type: uri_folder}\n", "Input 'data' (uri_folder) has no path"),
        ("inputs: [a, b]\n", "`inputs:` must map names to {type, path}"),
        ("inputs: {data: [unclosed\n", "Error while parsing yaml file"),
        ("", "give the job's `inputs:` and/or `outputs:`"),
    ],
)
def test_a_bad_invoke_file_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    spec = tmp_path / "inputs.yml"
    spec.write_text(text)
    with pytest.raises(InvalidSetting, match=re.escape(message)):
        read_job_ports(spec, ml)
