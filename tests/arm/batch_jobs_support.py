"""What the batch job tests share: an MLClient against the test's ARM server with an AmlCompute
cluster, a batch endpoint ``bep``, deployments from a scoring script, input folders, and waiting
for a job to end (``jobs.get`` until its status is terminal)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from azure.ai.ml import MLClient
from azure.ai.ml.entities import (
    AmlCompute,
    BatchEndpoint,
    CodeConfiguration,
    Environment,
    Model,
    ModelBatchDeployment,
    ModelBatchDeploymentSettings,
)
from azure.identity import DefaultAzureCredential

from emulator.daemon.server import EmulatorServer
from emulator.settings import BUILDER_ENV

SUB = "11111111-2222-3333-4444-555555555555"
IMAGE = "mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"
#: A run() that returns one row per file: the file's name.
NAMES = """
import os

def init():
    pass

def run(mini_batch):
    return [os.path.basename(path) for path in mini_batch]
"""


@pytest.fixture
def client(
    arm_server: EmulatorServer, v2_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> MLClient:
    """A client of ``arm_server`` with the cluster ``cpu-cluster`` and the batch endpoint
    ``bep``; images run on this interpreter (no installs)."""
    monkeypatch.setenv(BUILDER_ENV, "host")
    ml_client = MLClient(DefaultAzureCredential(), SUB, "rg", "ws")
    ml_client.compute.begin_create_or_update(
        AmlCompute(name="cpu-cluster", size="Standard_DS3_v2", max_instances=2)
    ).result()
    ml_client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="bep")).result()
    return ml_client


def deploy(client: MLClient, tmp_path: Path, name: str, score: str, **settings: object) -> None:
    """A ModelBatchDeployment ``name`` of ``bep`` running ``score``."""
    code = tmp_path / f"src-{name}"
    code.mkdir()
    (code / "score.py").write_text(score)
    (tmp_path / "model.txt").write_text("weights")
    client.batch_deployments.begin_create_or_update(
        ModelBatchDeployment(
            name=name,
            endpoint_name="bep",
            model=Model(path=str(tmp_path / "model.txt")),
            code_configuration=CodeConfiguration(code=str(code), scoring_script="score.py"),
            environment=Environment(image=IMAGE),
            compute="cpu-cluster",
            settings=ModelBatchDeploymentSettings(**settings),  # type: ignore[arg-type]
        )
    ).result()


def input_folder(tmp_path: Path, count: int, name: str = "in") -> Path:
    """A folder of ``count`` files ``f<i>.txt`` holding ``i``."""
    folder = tmp_path / name
    folder.mkdir()
    for i in range(count):
        (folder / f"f{i}.txt").write_text(str(i))
    return folder


def settle(client: MLClient, name: str, timeout: float = 60.0) -> str:
    """The job's status once terminal (or as it is after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        got = client.jobs.get(name).status
        status = str(getattr(got, "value", got))  # the client's JobStatus enum
        if status in ("Completed", "Failed", "Canceled") or time.monotonic() > deadline:
            return status
        time.sleep(0.2)
