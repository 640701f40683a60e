"""Updating an online deployment through the real ``azure-ai-ml`` client rolls out as Azure
does: the new instances start beside the old ones and take the traffic once ready, so a client
invoking all along never sees a failure; a failed update leaves the previous version serving.
A deployment whose replicas ended with their host keeps ``Succeeded`` and its logs say why."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from azure.ai.ml import MLClient
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
)
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential

from emulator.daemon.server import EmulatorServer
from emulator.services.online import online, stop_online
from emulator.settings import BUILDER_ENV
from emulator.state import workspace_states

SUB = "11111111-2222-3333-4444-555555555555"

VERSIONED = """
def init():
    print("version {version} ready")

def run(raw):
    return {{"version": {version}}}
"""

CRASHING = """
def init():
    raise RuntimeError("the new weights are corrupt")

def run(raw):
    return raw
"""


@pytest.fixture
def client(
    arm_server: EmulatorServer, v2_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> MLClient:
    monkeypatch.setenv(BUILDER_ENV, "host")  # replicas run on this interpreter: no installs
    return MLClient(DefaultAzureCredential(), SUB, "rg", "ws")


def _deployment(tmp_path: Path, score: str, tag: str, **fields: object) -> ManagedOnlineDeployment:
    (tmp_path / "model.txt").write_text("weights")
    code = tmp_path / f"src-{tag}"
    code.mkdir()
    (code / "score.py").write_text(score)
    settings: dict[str, object] = {"instance_type": "Standard_DS3_v2", "instance_count": 1}
    settings.update(fields)
    return ManagedOnlineDeployment(
        name="blue",
        endpoint_name="ep-roll",
        model=Model(path=str(tmp_path / "model.txt")),
        code_configuration=CodeConfiguration(code=str(code), scoring_script="score.py"),
        environment=Environment(image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"),
        **settings,  # type: ignore[arg-type]
    )


def _serving(client: MLClient, tmp_path: Path) -> Path:
    """Endpoint ``ep-roll`` with deployment ``blue`` (version 1) taking all its traffic."""
    client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="ep-roll")).result()
    client.online_deployments.begin_create_or_update(
        _deployment(tmp_path, VERSIONED.format(version=1), "v1")
    ).result()
    endpoint = client.online_endpoints.get("ep-roll")
    endpoint.traffic = {"blue": 100}
    client.online_endpoints.begin_create_or_update(endpoint).result()
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"data": [1]}))
    return request


def _replicas(server: EmulatorServer) -> list[str]:
    """The replicas of ``blue`` that ``server`` runs (other tests' servers run their own)."""
    state = workspace_states(server.root).get(SUB, "rg", "ws")
    live = None if state is None else online(server.root.path, state.id, "ep-roll", "blue")
    return [] if live is None else [c.name for c in live.containers()]


class _Invoker(threading.Thread):
    """Invokes the endpoint in a loop until stopped; records every answer and failure."""

    def __init__(self, client: MLClient, request: Path) -> None:
        super().__init__(daemon=True)
        self.client, self.request = client, request
        self.answers: list[int] = []
        self.failures: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                answer = self.client.online_endpoints.invoke(
                    endpoint_name="ep-roll", request_file=str(self.request)
                )
                self.answers.append(json.loads(answer)["version"])
            except Exception as exc:  # every failure is what the test looks for
                self.failures.append(repr(exc))


def test_an_update_keeps_answering_throughout_and_then_answers_with_the_new_code(
    client: MLClient, tmp_path: Path, arm_server: EmulatorServer
) -> None:
    request = _serving(client, tmp_path)
    before = _replicas(arm_server)
    invoker = _Invoker(client, request)
    invoker.start()
    try:
        poller = client.online_deployments.begin_create_or_update(
            _deployment(tmp_path, VERSIONED.format(version=2), "v2")
        )
        assert client.online_deployments.get("blue", "ep-roll").provisioning_state in (
            "Updating",
            "Succeeded",
        )
        updated = poller.result()
        seen = len(invoker.answers)
        while len(invoker.answers) < seen + 3 and invoker.is_alive():
            invoker.halt.wait(0.05)  # a few answers after the switch
    finally:
        invoker.halt.set()
        invoker.join(30)
    assert updated.provisioning_state == "Succeeded"
    assert invoker.failures == []
    assert invoker.answers[0] == 1 and invoker.answers[-1] == 2
    # the switch happens once: no answer of the old version after the first of the new one
    assert invoker.answers == sorted(invoker.answers)
    answer = client.online_endpoints.invoke(endpoint_name="ep-roll", request_file=str(request))
    assert json.loads(answer) == {"version": 2}
    assert "version 2 ready" in client.online_deployments.get_logs("blue", "ep-roll", lines=10000)
    after = _replicas(arm_server)
    assert len(after) == 1 and not set(after) & set(before)  # old instances stopped


def test_a_failed_update_leaves_the_previous_version_serving(
    client: MLClient, tmp_path: Path
) -> None:
    request = _serving(client, tmp_path)
    with pytest.raises(HttpResponseError) as failed:
        client.online_deployments.begin_create_or_update(
            _deployment(tmp_path, CRASHING, "broken")
        ).result()
    assert "User container has crashed or terminated" in str(failed.value)
    assert "the new weights are corrupt" in str(failed.value)
    assert "previous version keeps serving" in str(failed.value)
    assert client.online_deployments.get("blue", "ep-roll").provisioning_state == "Failed"
    answer = client.online_endpoints.invoke(endpoint_name="ep-roll", request_file=str(request))
    assert json.loads(answer) == {"version": 1}


def test_a_deployment_whose_replicas_ended_keeps_succeeded_and_says_why(
    client: MLClient, tmp_path: Path, arm_server: EmulatorServer
) -> None:
    request = _serving(client, tmp_path)
    state = workspace_states(arm_server.root).get(SUB, "rg", "ws")
    assert state is not None
    stop_online(arm_server.root.path, state.id, "ep-roll", "blue")  # as when its host ends
    # Azure keeps provisioningState (the last operation's outcome) while instances are down
    assert client.online_deployments.get("blue", "ep-roll").provisioning_state == "Succeeded"
    logs = client.online_deployments.get_logs("blue", "ep-roll", lines=20)
    assert "[emulator] Deployment 'blue' of endpoint 'ep-roll' has no running instance" in logs
    assert "amlemu up" in logs
    with pytest.raises(HttpResponseError, match="has no running replica"):
        client.online_endpoints.invoke(endpoint_name="ep-roll", request_file=str(request))
