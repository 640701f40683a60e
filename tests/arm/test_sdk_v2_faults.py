"""Faults injected into SDK v2 online deployments, seen through the real ``azure-ai-ml``: a
status fault is the replicas' answer (a 5xx reaches ``invoke`` as Azure's 424), latency past
``request_timeout_ms`` is the endpoint's 408, replicas are killed and restarted, ``init()``
fails a creation, and ``amlemu faults --endpoint --deployment`` does the same from a shell."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.ai.ml import MLClient
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    OnlineRequestSettings,
)
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from test_sdk_v2_scoring import Scorer

from emulator.cli.main import main
from emulator.daemon.server import EmulatorServer
from emulator.faults import FaultError, FaultState, online_deployment_faults
from emulator.faults.store import FaultStore
from emulator.settings import BUILDER_ENV

SUB = "11111111-2222-3333-4444-555555555555"
ENDPOINT = "faulty-ep"
WORKSPACE = ["--workspace", "ws", "--subscription-id", SUB, "--resource-group", "rg"]
SCORE = """
import os
def init():
    pass
def run(raw_data):
    return {"pid": os.getpid()}
"""


@pytest.fixture
def client(
    arm_server: EmulatorServer, v2_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> MLClient:
    monkeypatch.setenv(BUILDER_ENV, "host")  # replicas run on this interpreter: no installs
    return MLClient(DefaultAzureCredential(), SUB, "rg", "ws")


@pytest.fixture
def endpoint(client: MLClient) -> Iterator[str]:
    client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=ENDPOINT)).result()
    yield ENDPOINT
    client.online_endpoints.begin_delete(name=ENDPOINT).result()


@pytest.fixture
def request_file(tmp_path: Path) -> Path:
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"data": [1]}))
    return path


def _deploy(client: MLClient, tmp_path: Path, name: str, timeout_ms: int = 5000) -> None:
    code = tmp_path / "src"
    code.mkdir(exist_ok=True)
    (code / "score.py").write_text(SCORE)
    model = tmp_path / f"model-{name}.txt"
    model.write_text(f"weights of {name}")
    deployment = ManagedOnlineDeployment(
        name=name,
        endpoint_name=ENDPOINT,
        model=Model(path=str(model)),
        code_configuration=CodeConfiguration(code=str(code), scoring_script="score.py"),
        environment=Environment(image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"),
        instance_type="Standard_DS3_v2",
        instance_count=1,
        request_settings=OnlineRequestSettings(request_timeout_ms=timeout_ms),
    )
    client.online_deployments.begin_create_or_update(deployment).result()
    ep = client.online_endpoints.get(ENDPOINT)
    ep.traffic = {name: 100}
    client.online_endpoints.begin_create_or_update(ep).result()


def _invoke(client: MLClient, request_file: Path) -> dict[str, int]:
    answer = client.online_endpoints.invoke(endpoint_name=ENDPOINT, request_file=str(request_file))
    return dict(json.loads(answer))


def test_an_error_fault_fails_invoke_as_a_model_error_until_it_is_cleared(
    client: MLClient, endpoint: str, tmp_path: Path, request_file: Path, arm_server: EmulatorServer
) -> None:
    _deploy(client, tmp_path, "blue")
    assert "pid" in _invoke(client, request_file)
    faults = online_deployment_faults(client, ENDPOINT, "BLUE")  # names are case-insensitive

    with faults.status(500) as handle:
        with pytest.raises(HttpResponseError) as raised:
            _invoke(client, request_file)
        # Azure's endpoint reports a replica's 5xx as 424, the replica's status in a header.
        assert raised.value.status_code == 424
        assert f"fault {handle.id} injected into deployment 'blue'" in str(raised.value)
        status, headers, _ = Scorer(client, ENDPOINT, arm_server).post({})
        assert status == 424
        assert headers["ms-azureml-model-error-statuscode"] == "500"
        assert headers["azureml-model-deployment"] == "blue"
        assert [f.kind.value for f in faults.list()] == ["status"]
    assert faults.list() == []
    assert "pid" in _invoke(client, request_file)

    # A 4xx is passed on as the replica's own answer.
    with faults.status(400), pytest.raises(HttpResponseError) as raised:
        _invoke(client, request_file)
    assert raised.value.status_code == 400
    assert "pid" in _invoke(client, request_file)

    # Tokens are the endpoint's: a token-expiry fault is refused with what to do instead.
    with pytest.raises(FaultError, match="begin_regenerate_keys"):
        faults.inject("token-expiry", seconds=0)


def test_latency_is_the_endpoints_408_and_a_killed_replica_comes_back(
    client: MLClient, endpoint: str, tmp_path: Path, request_file: Path, arm_server: EmulatorServer
) -> None:
    _deploy(client, tmp_path, "blue", timeout_ms=300)
    first = _invoke(client, request_file)["pid"]
    faults = online_deployment_faults(client, ENDPOINT, "blue")

    # Raw HTTPS: azure-ai-ml 1.35.2's invoke crashes on any 408 (its error map builds
    # ServiceRequestTimeoutError without a message: TypeError).
    with faults.latency(2.0):
        status, _, body = Scorer(client, ENDPOINT, arm_server).post({})
    assert status == 408
    assert b"request_timeout_ms=300" in body

    killed = faults.kill().wait(20)
    assert killed.state is FaultState.DONE
    logs = client.online_deployments.get_logs(name="blue", endpoint_name=ENDPOINT, lines=200)
    assert "[emulator] fault" in logs
    answer = _invoke_when_back(client, request_file)
    assert answer["pid"] != first  # the supervisor restarted the replica: a new process


def _invoke_when_back(client: MLClient, request_file: Path) -> dict[str, int]:
    """The answer once the restarted replica serves again (503 while it starts)."""
    last: HttpResponseError | None = None
    for _ in range(200):
        try:
            return _invoke(client, request_file)
        except HttpResponseError as exc:
            assert exc.status_code in (502, 503), exc
            last = exc
            time.sleep(0.1)
    raise AssertionError(f"the replica did not come back: {last}")


def test_init_failures_injected_before_creation_crash_its_replicas(
    client: MLClient, endpoint: str, tmp_path: Path, request_file: Path
) -> None:
    faults = online_deployment_faults(client, ENDPOINT, "green")
    # One failed start: the replica is restarted, as Azure's would be, and the creation ends well.
    once = faults.fail_init(times=1)
    _deploy(client, tmp_path, "green")
    assert once.state is FaultState.DONE
    logs = client.online_deployments.get_logs(name="green", endpoint_name=ENDPOINT, lines=500)
    assert "init() failed because an init-failure fault was injected" in logs
    assert "pid" in _invoke(client, request_file)

    # Every start failing: the creation fails with Azure's error and the log's tail; once the
    # fault is used up, creating it again succeeds.
    ep = client.online_endpoints.get(ENDPOINT)
    ep.traffic = {"green": 0}
    client.online_endpoints.begin_create_or_update(ep).result()
    client.online_deployments.begin_delete(name="green", endpoint_name=ENDPOINT).result()
    faults.fail_init(times=4)  # the first start and its 3 restarts
    with pytest.raises(HttpResponseError, match="init-failure fault was injected"):
        _deploy(client, tmp_path, "green")
    assert [f.state for f in faults.list()] == [FaultState.DONE] * 2
    _deploy(client, tmp_path, "green")
    assert "pid" in _invoke(client, request_file)


def test_the_cli_injects_lists_and_clears_a_deployments_faults(
    client: MLClient,
    endpoint: str,
    tmp_path: Path,
    request_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _deploy(client, tmp_path, "blue")
    online = ["--endpoint", ENDPOINT, "--deployment", "blue"]
    assert main(["faults", "inject", "status", "--status", "503", *online, *WORKSPACE]) == 0
    assert f"Injected f1 into {ENDPOINT}/blue" in capsys.readouterr().out
    with pytest.raises(HttpResponseError) as raised:
        _invoke(client, request_file)
    assert raised.value.status_code == 424

    assert main(["faults", "list", "--json", *WORKSPACE]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["target"], r["id"], r["kind"], r["status"]) for r in rows] == [
        (f"{ENDPOINT}/blue", "f1", "status", 503)
    ]
    assert main(["faults", "clear", *online, *WORKSPACE]) == 0
    assert "Removed 1 fault(s)" in capsys.readouterr().out
    assert "pid" in _invoke(client, request_file)

    # What does not exist, or is named by halves, is refused with the fix.
    assert main(["faults", "inject", "kill", "--endpoint", ENDPOINT, *WORKSPACE]) != 0
    assert "both --endpoint and --deployment" in capsys.readouterr().err
    missing = ["--endpoint", ENDPOINT, "--deployment", "purple"]
    assert main(["faults", "inject", "kill", *missing, *WORKSPACE]) != 0
    assert "Deployment 'purple' of online endpoint 'faulty-ep' does not exist" in (
        capsys.readouterr().err
    )


def test_an_online_deployments_fault_file_is_its_own(tmp_path: Path) -> None:
    """Apart from services (an endpoint may share a v1 service's name), one per deployment,
    whatever the case of the names; names that could leave the root are refused."""
    store = FaultStore.for_online_deployment(tmp_path, 3, "Ep-1", "Blue")
    assert store.path == tmp_path / "faults" / "3" / "online" / "ep-1" / "blue.json"
    assert FaultStore.for_service(tmp_path, 3, "ep-1").path != store.path
    for endpoint, deployment in (("..", "blue"), ("ep", "../x"), ("ep", "a/b")):
        with pytest.raises(FaultError, match="not an online"):
            FaultStore.for_online_deployment(tmp_path, 3, endpoint, deployment)
