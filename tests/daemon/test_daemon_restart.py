"""Endpoints outlive their clients and the daemon's restarts, as Azure's outlive a notebook: a
deployment made through the real ``azure-ai-ml`` by a script that then exits keeps answering;
``amlemu down`` stops every replica the daemon hosts; ``amlemu up`` on the same root brings the
deployments back with the same scoring URIs. A daemon killed with SIGKILL leaves a stale pid
file, which ``status`` and ``up`` report and clear, and no replica behind."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from daemon_harness import DaemonRoot

from emulator.daemon.lifecycle import process_gone

pytestmark = pytest.mark.slow

DEPLOY = """
import json, sys
from pathlib import Path
from azure.ai.ml import MLClient
from azure.ai.ml.entities import (CodeConfiguration, Environment, ManagedOnlineDeployment,
                                  ManagedOnlineEndpoint, Model)
from azure.identity import DefaultAzureCredential

work = Path(sys.argv[1])
(work / "src").mkdir(parents=True)
(work / "factor.txt").write_text("7")
(work / "src" / "score.py").write_text('''
import json, os, time
def init():
    global factor
    deadline = time.monotonic() + 120
    while os.path.exists(os.environ["HOLD_FILE"]) and time.monotonic() < deadline:
        time.sleep(0.05)  # the test holds init() back while the file exists
    factor = int(open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "factor.txt")).read())
def run(raw):
    return {"scaled": [x * factor for x in json.loads(raw)["data"]], "pid": os.getpid()}
''')
client = MLClient(DefaultAzureCredential(), "sub", "rg", "ws")
client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="keep")).result()
client.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
    name="blue", endpoint_name="keep", model=Model(path=str(work / "factor.txt")),
    code_configuration=CodeConfiguration(code=str(work / "src"), scoring_script="score.py"),
    environment=Environment(image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"),
    instance_type="Standard_DS3_v2", instance_count=1,
    environment_variables={"HOLD_FILE": str(work / "hold")})).result()
endpoint = client.online_endpoints.get("keep")
endpoint.traffic = {"blue": 100}
client.online_endpoints.begin_create_or_update(endpoint).result()
print("RESULT", json.dumps({"uri": client.online_endpoints.get("keep").scoring_uri}))
"""

INVOKE = """
import json, sys, time
from pathlib import Path
from azure.ai.ml import MLClient
from azure.identity import DefaultAzureCredential

client = MLClient(DefaultAzureCredential(), "sub", "rg", "ws")
states = [client.online_deployments.get("blue", "keep").provisioning_state]
deadline = time.monotonic() + 240
while states[-1] != "Succeeded" and time.monotonic() < deadline:
    time.sleep(0.5)
    states.append(client.online_deployments.get("blue", "keep").provisioning_state)
request = Path(sys.argv[1]) / "request.json"
request.write_text(json.dumps({"data": [1, 2]}))
answer = json.loads(client.online_endpoints.invoke(endpoint_name="keep", request_file=str(request)))
uri = client.online_endpoints.get("keep").scoring_uri
result = {"uri": uri, "answer": answer["scaled"], "states": states, "pid": answer["pid"]}
print("RESULT", json.dumps(result))
"""


def _deploy(root: DaemonRoot) -> str:
    """Deploy from a client process that then exits; the endpoint's scoring URI."""
    work = root.path.parent / "project"
    return str(_result(root.python(DEPLOY, str(work)))["uri"])


def _invoke(root: DaemonRoot) -> dict[str, object]:
    """Invoke from another client process (waiting for the deployment to be ready)."""
    return _result(root.python(INVOKE, str(root.path.parent)))


def _result(stdout: str) -> dict[str, object]:
    """The script's JSON result (the SDK's pollers print progress dots before it)."""
    result: dict[str, object] = json.loads(stdout.rpartition("RESULT ")[2])
    return result


def _wait_gone(pids: list[int], seconds: float = 30) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if not process_gone(pid)]
        if not alive:
            return []
        time.sleep(0.1)
    return alive


def test_deployments_outlive_their_client_and_come_back_after_a_restart(
    daemon_root: DaemonRoot,
) -> None:
    up = daemon_root.amlemu("up", "--detach")
    assert up.returncode == 0, up.stderr
    daemon = daemon_root.daemon_pid()
    uri = _deploy(daemon_root)
    assert uri.startswith(f"https://127.0.0.1:{daemon_root.port()}/")

    # The deploying script has exited: the daemon still serves its deployment.
    first = _invoke(daemon_root)
    assert (first["uri"], first["answer"], first["states"]) == (uri, [7, 14], ["Succeeded"])
    replicas = daemon_root.hosted_by(daemon)
    assert first["pid"] in replicas  # the replica answering is the daemon's own

    down = daemon_root.amlemu("down")
    assert down.returncode == 0, down.stderr
    # down returns once the daemon is gone, and it stopped every replica before it went
    assert [pid for pid in [daemon, *replicas] if not process_gone(pid)] == []
    assert "Stopping: received SIGTERM" in (daemon_root.path / "daemon" / "daemon.log").read_text()

    hold = daemon_root.path.parent / "project" / "hold"
    hold.touch()  # the restored replica's init() waits until the file goes
    again = daemon_root.amlemu("up", "--detach")
    assert again.returncode == 0, again.stderr  # up returns while the deployment comes back
    restarted = daemon_root.daemon_pid()
    status = daemon_root.amlemu("status")
    assert "Online deployments" in status.stdout and "  ws/keep/blue: Updating" in status.stdout
    # Stopped before the deployment is back: it is not taken for a crash, the next start retries.
    assert daemon_root.amlemu("down").returncode == 0
    assert daemon_root.amlemu("up", "--detach").returncode == 0
    restarted = daemon_root.daemon_pid()
    assert "  ws/keep/blue: Updating" in daemon_root.amlemu("status").stdout
    hold.unlink()
    second = _invoke(daemon_root)
    assert (second["uri"], second["answer"]) == (uri, [7, 14])  # same URI, same answer
    states = second["states"]
    assert isinstance(states, list) and states[-1] == "Succeeded"
    assert set(states[:-1]) <= {"Updating"}  # Updating until the replicas are ready again
    assert second["pid"] in daemon_root.hosted_by(restarted)
    log = (daemon_root.path / "daemon" / "daemon.log").read_text()
    assert "Bringing back online deployment 'blue' of endpoint 'keep'" in log
    assert "online deployment 'blue' of endpoint 'keep' serves again" in log


def test_a_killed_daemon_is_reported_stale_leaves_no_replica_and_comes_back(
    daemon_root: DaemonRoot,
) -> None:
    assert daemon_root.amlemu("up", "--detach").returncode == 0
    daemon = daemon_root.daemon_pid()
    uri = _deploy(daemon_root)
    replicas = daemon_root.hosted_by(daemon)
    assert replicas

    os.kill(daemon, signal.SIGKILL)
    assert _wait_gone([daemon]) == []
    assert _wait_gone(replicas) == []  # their watchdog saw the daemon go

    status = daemon_root.amlemu("status")
    assert status.returncode == 3
    assert f"Removed a stale pid file: the daemon (pid {daemon})" in status.stdout
    assert not (daemon_root.path / "daemon" / "daemon.pid").exists()

    (daemon_root.path / "daemon" / "daemon.pid").write_text(f"{daemon}\n")  # as kill -9 left it
    up = daemon_root.amlemu("up", "--detach")
    assert up.returncode == 0, up.stderr
    assert f"stale pid file: the daemon (pid {daemon})" in up.stdout
    result = _invoke(daemon_root)
    assert (result["uri"], result["answer"]) == (uri, [7, 14])
