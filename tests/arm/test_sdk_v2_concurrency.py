"""Clients racing or dying mid-operation, through the real ``azure-ai-ml`` and raw HTTPS: a
deployment takes one operation at a time (the second is refused with 409 ``Conflict``, as Azure
refuses it), simultaneous endpoint PUTs leave one consistent endpoint, and a client killed in
the middle of a model upload leaves no model version and no half blob behind."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from azure.ai.ml import MLClient
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
)
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.identity import DefaultAzureCredential

from emulator.assets.blob_containers import BlobContainers
from emulator.daemon.server import EmulatorServer
from emulator.endpoints.operations import begin_operation, wait_ended
from emulator.exceptions import Conflict
from emulator.services.online import online
from emulator.settings import BUILDER_ENV
from emulator.state import workspace_states

SUB = "11111111-2222-3333-4444-555555555555"
ENDPOINT = "busy-ep"
#: init() waits for the file GATE: an operation stays in progress until the test opens it.
SCORE = """
import os, time
def init():
    while not os.path.exists(os.environ["GATE"]):
        time.sleep(0.02)
def run(raw_data):
    return {"version": os.environ["VERSION"]}
"""


@pytest.fixture
def client(
    arm_server: EmulatorServer, v2_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> MLClient:
    monkeypatch.setenv(BUILDER_ENV, "host")  # replicas run on this interpreter: no installs
    return MLClient(DefaultAzureCredential(), SUB, "rg", "ws")


def _deployment(tmp_path: Path, version: int, instance_type: str = "Standard_DS3_v2") -> Any:
    code = tmp_path / "src"
    code.mkdir(exist_ok=True)
    (code / "score.py").write_text(SCORE)
    model = tmp_path / "model.txt"
    model.write_text("weights")
    return ManagedOnlineDeployment(
        name="blue",
        endpoint_name=ENDPOINT,
        model=Model(path=str(model)),
        code_configuration=CodeConfiguration(code=str(code), scoring_script="score.py"),
        environment=Environment(image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"),
        instance_type=instance_type,
        instance_count=1,
        environment_variables={"GATE": str(tmp_path / "gate"), "VERSION": str(version)},
    )


def _invoke(client: MLClient, tmp_path: Path) -> str:
    request = tmp_path / "request.json"
    request.write_text("{}")
    answer = client.online_endpoints.invoke(
        endpoint_name=ENDPOINT, deployment_name="blue", request_file=str(request)
    )
    return str(json.loads(answer)["version"])


def test_a_second_update_while_one_runs_is_refused_with_409_and_the_first_wins(
    client: MLClient, tmp_path: Path, arm_server: EmulatorServer
) -> None:
    client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=ENDPOINT)).result()
    gate = tmp_path / "gate"
    gate.touch()
    client.online_deployments.begin_create_or_update(_deployment(tmp_path, 1)).result()
    gate.unlink()  # from here on, an operation stays in progress until the gate opens

    first = client.online_deployments.begin_create_or_update(_deployment(tmp_path, 2))
    other = MLClient(DefaultAzureCredential(), SUB, "rg", "ws")  # a second client
    with pytest.raises(ResourceExistsError) as refused:
        other.online_deployments.begin_create_or_update(_deployment(tmp_path, 3))
    assert refused.value.status_code == 409
    assert refused.value.error is not None and refused.value.error.code == "Conflict"
    assert "An operation on deployment 'blue' of online endpoint 'busy-ep' is in progress" in (
        str(refused.value)
    )
    assert client.online_deployments.get("blue", ENDPOINT).provisioning_state == "Updating"

    gate.touch()
    assert first.result().provisioning_state == "Succeeded"
    assert _invoke(client, tmp_path) == "2"  # the refused update changed nothing
    stored = client.online_deployments.get("blue", ENDPOINT)
    assert stored.environment_variables["VERSION"] == "2"

    # Once the operation has ended the deployment takes the next one; a request refused
    # before it was stored (400) does not hold the deployment either.
    with pytest.raises(HttpResponseError, match="Standard_Nope"):
        other.online_deployments.begin_create_or_update(
            _deployment(tmp_path, 3, instance_type="Standard_Nope")
        )
    assert (
        other.online_deployments.begin_create_or_update(_deployment(tmp_path, 3))
        .result()
        .provisioning_state
        == "Succeeded"
    )
    assert _invoke(client, tmp_path) == "3"
    workspace = workspace_states(arm_server.root).get(SUB, "rg", "ws")
    assert workspace is not None
    live = online(arm_server.root.path, workspace.id, ENDPOINT, "blue")
    assert live is not None and live.replica_count == 1  # one rollout at a time
    client.online_endpoints.begin_delete(name=ENDPOINT).result()


def test_simultaneous_puts_of_one_deployment_start_exactly_one_operation(
    client: MLClient, tmp_path: Path, arm_server: EmulatorServer
) -> None:
    client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=ENDPOINT)).result()
    gate = tmp_path / "gate"
    gate.touch()
    client.online_deployments.begin_create_or_update(_deployment(tmp_path, 1)).result()
    gate.unlink()
    url = (
        f"{arm_server.base_url}/subscriptions/{SUB}/resourceGroups/rg/providers/"
        f"Microsoft.MachineLearningServices/workspaces/ws/onlineEndpoints/{ENDPOINT}/"
        "deployments/blue?api-version=2023-04-01-preview"
    )
    token = DefaultAzureCredential().get_token("https://management.azure.com/.default").token
    context = ssl.create_default_context(cafile=str(arm_server.ca.ca_cert))
    body = _get(url, token, context)
    clients = 6
    start = threading.Barrier(clients)
    statuses: list[int] = []

    def put(version: int) -> None:
        sent = {**body, "properties": dict(body["properties"])}
        sent["properties"]["environmentVariables"] = {
            **body["properties"]["environmentVariables"],
            "VERSION": str(version),
        }
        request = urllib.request.Request(
            url,
            json.dumps(sent).encode(),
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="PUT",
        )
        start.wait()
        try:
            with urllib.request.urlopen(request, context=context) as answer:
                statuses.append(answer.status)
        except urllib.error.HTTPError as refused:
            assert json.loads(refused.read())["error"]["code"] == "Conflict"
            statuses.append(refused.code)

    threads = [threading.Thread(target=put, args=(n,)) for n in range(2, 2 + clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert Counter(statuses) == {201: 1, 409: clients - 1}
    gate.touch()
    settled = client.online_deployments.get("blue", ENDPOINT)
    deadline = time.monotonic() + 60
    while settled.provisioning_state == "Updating" and time.monotonic() < deadline:
        time.sleep(0.05)
        settled = client.online_deployments.get("blue", ENDPOINT)
    assert settled.provisioning_state == "Succeeded"
    # The one accepted PUT is what serves.
    assert _invoke(client, tmp_path) == settled.environment_variables["VERSION"]
    client.online_endpoints.begin_delete(name=ENDPOINT).result()


def _get(url: str, token: str, context: ssl.SSLContext) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, context=context) as answer:
        return dict(json.loads(answer.read()))


def test_simultaneous_creates_of_one_endpoint_leave_one_consistent_endpoint(
    client: MLClient, arm_server: EmulatorServer
) -> None:
    clients = 6
    start = threading.Barrier(clients)
    results: list[object] = []
    keys: list[tuple[str, str]] = []

    def create(n: int) -> None:
        own = MLClient(DefaultAzureCredential(), SUB, "rg", "ws")
        endpoint = ManagedOnlineEndpoint(name="race-ep", description=f"writer {n}")
        start.wait()
        try:
            results.append(own.online_endpoints.begin_create_or_update(endpoint).result())
            seen = own.online_endpoints.get_keys("race-ep")
            keys.append((seen.primary_key, seen.secondary_key))
        except Exception as exc:  # every failure is what the test looks for
            results.append(exc)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    failures = [r for r in results if isinstance(r, Exception)]
    assert failures == [] and len(results) == clients
    assert [e.name for e in client.online_endpoints.list()] == ["race-ep"]
    stored = client.online_endpoints.get("race-ep")
    assert stored.description in {f"writer {n}" for n in range(clients)}
    assert stored.provisioning_state == "Succeeded"
    # The keys were made once, by whichever create came first; every later PUT kept them.
    assert len(set(keys)) == 1 and all(keys[0])


def test_the_operation_lock_is_per_deployment_and_its_end_is_awaited(tmp_path: Path) -> None:
    """The operation status waits for the lock's release (the outcome is stored a moment
    before), so a client sending its next update on seeing the outcome is never refused."""
    first = begin_operation(tmp_path, 1, "Ep", "Blue")
    with pytest.raises(Conflict, match="An operation on deployment 'blue'"):
        begin_operation(tmp_path, 1, "ep", "blue")
    begin_operation(tmp_path, 1, "ep", "green").end()  # other deployments are free
    begin_operation(tmp_path, 2, "ep", "blue").end()  # and other workspaces
    assert not wait_ended(tmp_path, 1, "EP", "BLUE", 0.01)
    threading.Timer(0.1, first.end).start()
    assert wait_ended(tmp_path, 1, "ep", "blue", 10)
    begin_operation(tmp_path, 1, "ep", "blue").end()
    first.end()  # idempotent: releases nothing it no longer holds


#: A client that uploads a model and is killed (SIGKILL) half-way through its bytes: the TLS
#: socket sends up to ``limit`` bytes, then touches ``marker`` and hangs, as on a dead link.
#: ``blocks`` makes the storage client upload in 1 MB blocks (Put Block, then Put Block List)
#: instead of one Put Blob, as it does for files over 64 MB.
UPLOADER = """
import pathlib, ssl, sys, time
from azure.ai.ml import MLClient
from azure.ai.ml.entities import Model
from azure.identity import DefaultAzureCredential
from azure.storage.blob import ContainerClient

source, marker, limit, mode, sub = sys.argv[1:6]
sent = 0
original = ssl.SSLSocket.sendall

def sendall(self, data, flags=0):
    global sent
    room = int(limit) - sent
    if len(data) > room:
        original(self, memoryview(data)[: max(room, 0)], flags)
        pathlib.Path(marker).touch()
        time.sleep(3600)
    sent += len(data)
    return original(self, data, flags)

ssl.SSLSocket.sendall = sendall
if mode == "blocks":
    upload = ContainerClient.upload_blob

    def in_blocks(self, *args, **kwargs):
        self._config.max_single_put_size = self._config.max_block_size = 1024 * 1024
        kwargs["max_concurrency"] = 1
        return upload(self, *args, **kwargs)

    ContainerClient.upload_blob = in_blocks
client = MLClient(DefaultAzureCredential(), sub, "rg", "ws")
client.models.create_or_update(Model(name="weights", version="1", path=source))
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["single", "blocks"])
def test_a_client_killed_mid_upload_leaves_no_half_model_and_the_rerun_succeeds(
    client: MLClient, tmp_path: Path, arm_server: EmulatorServer, mode: str
) -> None:
    source = tmp_path / "weights.bin"
    content = bytes(range(256)) * (24 * 1024)  # 6 MiB
    source.write_bytes(content)
    marker = tmp_path / "half-sent"
    script = tmp_path / "uploader.py"
    script.write_text(UPLOADER)
    limit = len(content) // 2
    uploader = subprocess.Popen(
        [sys.executable, str(script), str(source), str(marker), str(limit), mode, SUB],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and uploader.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), uploader.stderr.read().decode() if uploader.stderr else ""
    finally:
        uploader.kill()
        uploader.wait(30)

    # No model version, and no blob of the upload visible in the datastore.
    assert list(client.models.list(name="weights")) == []
    datastore = client.datastores.get_default()
    blobs = BlobContainers(arm_server.root).list(datastore.account_name, datastore.container_name)
    assert [b.name for b in blobs if b.name.endswith("weights.bin")] == []

    # The same upload again succeeds, and the model holds every byte.
    model = client.models.create_or_update(Model(name="weights", version="1", path=str(source)))
    assert model.version == "1"
    client.models.download(name="weights", version="1", download_path=str(tmp_path / "back"))
    downloaded = [p for p in (tmp_path / "back").rglob("weights.bin")]
    assert len(downloaded) == 1 and downloaded[0].read_bytes() == content
