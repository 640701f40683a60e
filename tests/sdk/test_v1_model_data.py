"""Model data collection through the shim: ``azureml.monitoring.ModelDataCollector`` in a
scoring script of an AKS service deployed with ``collect_model_data=True`` writes Azure's CSV
blobs (``<sub>/<rg>/<ws>/<service>/<model>/<version>/<designation>/<yyyy>/<mm>/<dd>/data.csv``)
under the workspace's ``modeldata`` folder; without the switch ``collect()`` writes nothing, as
in Azure; ``update(collect_model_data=...)`` turns it on in place and later updates keep it."""

from __future__ import annotations

import csv
import datetime
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from emulator import Workspace, mock_aml
from emulator.portal.app import PortalApp

SCRIPT = Path(__file__).resolve().parents[2] / "fixtures" / "scoring" / "monitoring"
CORRELATION_COLUMNS = [
    "$aml_dc_correlation_id",
    "$aml_dc_scoring_timestamp",
    "$aml_dc_boundary",
    "$aml_workspace",
    "$aml_service_name",
    "$aml_model_name",
    "$aml_model_version",
    "$aml_request_id",
]


@pytest.fixture
def fast_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Host-builder images and clusters that provision at once."""
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")
    monkeypatch.setenv("AZUREML_EMULATOR_PROVISIONING_SECONDS", "0")


def amlemu(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``amlemu ARGS`` in a new process on ``root``, as a user's terminal runs it."""
    env = {**os.environ, "AZUREML_EMULATOR_ROOT": str(root)}
    return subprocess.run(
        [sys.executable, "-m", "emulator", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _deploy(ws: Workspace, workdir: Path, name: str, **config: Any) -> Any:
    from azureml.core import Model
    from azureml.core.compute import AksCompute, ComputeTarget
    from azureml.core.model import InferenceConfig
    from azureml.core.webservice import AksWebservice

    shutil.copy(SCRIPT / "score_collect.py", workdir / "score_collect.py")
    (workdir / "model.pkl").write_bytes(b"weights")
    Model.register(ws, "model.pkl", "collected-model")
    model = Model.register(ws, "model.pkl", "collected-model")  # version 2: the one deployed
    cluster = ComputeTarget.create(ws, "aks-dc", AksCompute.provisioning_configuration())
    cluster.wait_for_completion()
    service = Model.deploy(
        ws,
        name,
        [model],
        InferenceConfig(entry_script="score_collect.py"),
        AksWebservice.deploy_configuration(cpu_cores=0.1, memory_gb=0.5, **config),
        cluster,
    )
    service.wait_for_deployment()
    return service


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def _portal_section(ws: Workspace, service: str) -> str:
    """The portal's service page, its Model data section."""
    page = Client(PortalApp(ws)).get(f"/services/{service}").text
    return page.split("<h2>Model data</h2>")[1].split("<h2>")[0]


def _day(service_folder: Path, designation: str) -> Path:
    today = datetime.datetime.now(datetime.timezone.utc)
    return (
        service_folder
        / "collected-model"
        / "2"
        / designation
        / f"{today:%Y}"
        / f"{today:%m}"
        / f"{today:%d}"
        / "data.csv"
    )


@pytest.mark.parametrize("builder", ["host", pytest.param("docker", marks=pytest.mark.docker)])
def test_collected_inputs_and_predictions_land_where_azure_puts_them(
    builder: str,
    aml_workspace: Workspace,
    aml_root: Path,
    workdir: Path,
    fast_env: None,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    if builder == "docker":  # replicas in containers: the data folder is mounted into them
        request.getfixturevalue("docker_engine")  # skips, or fails under --require-docker
        monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "docker")
    service = _deploy(
        aml_workspace, workdir, "dc-svc", collect_model_data=True, enable_app_insights=True
    )
    assert service.data_collection.serialize() == {
        "eventHubEnabled": False,
        "storageEnabled": True,
    }
    assert service.run('{"data": [1, 2], "id": "first"}') == {"label": "small", "collected": True}
    assert service.run('{"data": [4, 5]}') == {"label": "big", "collected": True}

    folder = aml_root / "workspaces" / str(aml_workspace._state.id) / "modeldata"
    service_folder = folder.joinpath(
        aml_workspace.subscription_id.lower(),
        aml_workspace.resource_group.lower(),
        aml_workspace.name.lower(),
        "dc-svc",
    )
    header, first, second = _rows(_day(service_folder, "inputs"))
    assert header == ["sepal", "petal", *CORRELATION_COLUMNS]
    assert first[:2] == ["1", "2"] and second[:2] == ["4", "5"]
    assert first[2].startswith("first-") and len(second[2]) == 36  # user id + uuid4, or uuid4
    assert datetime.datetime.fromisoformat(first[3]).date() == datetime.date.today()
    workspace = "/".join(
        [aml_workspace.subscription_id, aml_workspace.resource_group, aml_workspace.name]
    ).lower()
    assert first[4:] == [
        "1440",
        workspace,
        "dc-svc",
        "collected-model",
        "2",
        "00000000-0000-0000-0000-000000000000",
    ]
    header, *predictions = _rows(_day(service_folder, "predictions"))
    assert header == ["label", *CORRELATION_COLUMNS]
    assert [row[0] for row in predictions] == ["small", "big"]
    assert [row[1] for row in predictions] == [first[2], second[2]]  # correlated with inputs

    described = amlemu(aml_root, "describe", "services", "dc-svc", "--json")
    assert described.returncode == 0, described.stderr
    backends = {replica["backend"] for replica in json.loads(described.stdout)["replicas"]}
    assert backends == {"docker" if builder == "docker" else "process"}
    described = amlemu(aml_root, "describe", "services", "dc-svc")
    assert str(service_folder) in described.stdout
    assert "collected-model/2/inputs/" in described.stdout
    section = _portal_section(aml_workspace, "dc-svc")
    assert "collected-model/2/inputs/" in section and "· 3 lines ·" in section
    assert "sepal,petal,$aml_dc_correlation_id," in section  # the header, then the newest rows
    telemetry = amlemu(aml_root, "logs", "dc-svc", "--telemetry")
    assert telemetry.returncode == 0, telemetry.stderr
    assert '"type": "request"' in telemetry.stdout


def test_data_collection_reads_the_payload_as_the_sdk_does() -> None:
    with mock_aml():
        from azureml.core.webservice.aks import DataCollection
        from azureml.exceptions import WebserviceException

        with pytest.raises(WebserviceException, match="missing eventHubEnabled for DataCollect"):
            DataCollection.deserialize({"storageEnabled": True})
        read = DataCollection.deserialize({"eventHubEnabled": False, "storageEnabled": True})
    assert (read.event_hub_enabled, read.storage_enabled) == (False, True)


def test_without_the_switch_nothing_is_collected_until_an_update_turns_it_on(
    aml_workspace: Workspace, aml_root: Path, workdir: Path, fast_env: None
) -> None:
    service = _deploy(aml_workspace, workdir, "quiet-svc")
    assert service.data_collection.storage_enabled is False
    assert service.run('{"data": [1, 2]}') == {"label": "small", "collected": False}
    assert "Data collection is not enabled. Set environment variable " in service.get_logs()
    assert not list((aml_root / "workspaces").rglob("*.csv"))
    section = _portal_section(aml_workspace, "quiet-svc")
    assert "Model data collection is off for this service" in section
    assert "collect_model_data=True" in section

    service.update(collect_model_data=True)
    service.wait_for_deployment()
    service.update(num_replicas=1)  # another setting changed: collection stays on
    service.wait_for_deployment()
    assert service.data_collection.storage_enabled is True
    deadline = time.monotonic() + 30  # old replicas drain before they stop
    while service.run('{"data": [3, 3]}')["collected"] is not True:
        assert time.monotonic() < deadline, "the updated replicas never collected"
        time.sleep(0.2)
    (inputs,) = [p for p in (aml_root / "workspaces").rglob("data.csv") if "inputs" in p.parts]
    assert "quiet-svc" in inputs.parts
    assert _rows(inputs)[-1][:2] == ["3", "3"]
    described = amlemu(aml_root, "describe", "services", "quiet-svc")
    assert described.returncode == 0, described.stderr
    assert "model data" in described.stdout and "collected-model/2/inputs/" in described.stdout
