"""Faults injected into deployed services: replicas killed, paused, out of memory, failing
``init()``, expired tokens, from the API and from ``amlemu faults`` in another process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emulator import (
    AciWebservice,
    AksCompute,
    ComputeTarget,
    ContainerImage,
    Image,
    Webservice,
    Workspace,
)
from emulator.errors import ComputeTargetException, WebserviceException
from emulator.faults import FaultState, service_faults, workspace_faults
from emulator.runtime.container import ContainerState

pytestmark = pytest.mark.slow


def _post(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=b"{}", headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _containers(service: Any) -> list[Any]:
    deployment = service._manager.deployment(service.name)
    assert deployment is not None
    return deployment.containers()


def test_kill_and_memory_restart_replicas_and_are_logged(deploy_aks: Callable[..., Any]) -> None:
    service = deploy_aks("victim", num_replicas=2, auth_enabled=False, autoscale_enabled=False)
    killed = service.faults.kill(replica=0).wait()
    assert killed.state is FaultState.DONE and "killed with SIGKILL" in (killed.detail or "")
    first = _containers(service)[0]
    _until(lambda: first.status.restart_count == 1 and first.ready)
    assert _post(service.scoring_uri)[0] == 200

    oom = service.faults.exhaust_memory(replica=1).wait()
    second = _containers(service)[1]
    _until(lambda: second.status.restart_count == 1 and second.ready)
    assert second.status.last_exit is not None and second.status.last_exit.oom_killed
    assert "OOMKilled" in (oom.detail or "")

    logs = service.get_logs()
    assert "[emulator] fault f1 injected: kill (SIGKILL) replica 0" in logs
    assert "[emulator] fault f1 applied: replica 0" in logs
    assert "[emulator] fault f2 applied: replica 1" in logs and "OOMKilled" in logs
    assert "exited with code 137" in logs
    service.update_deployment_state()
    assert service.state == "Healthy"
    service.delete()


def test_pause_fails_liveness_and_the_replica_restarts(deploy_aks: Callable[..., Any]) -> None:
    service = deploy_aks(
        "frozen",
        num_replicas=1,
        auth_enabled=False,
        autoscale_enabled=False,
        period_seconds=1,
        timeout_seconds=1,
        failure_threshold=1,
    )
    paused = service.faults.pause().wait()
    replica = _containers(service)[0]
    assert paused.state is FaultState.DONE
    _until(lambda: replica.status.state is ContainerState.UNHEALTHY)
    _until(lambda: replica.status.restart_count == 1 and replica.ready)
    assert _post(service.scoring_uri)[0] == 200
    assert "Liveness probe failed" in service.get_logs()
    service.delete()


def test_init_failure_before_the_deployment_and_on_a_restart(
    aml_workspace: Workspace, timed_image: Image
) -> None:
    faults = service_faults(aml_workspace, "flaky")
    faults.fail_init()  # the deployment's first start fails once, then the restart succeeds
    service = Webservice.deploy_from_image(
        aml_workspace, "flaky", timed_image, AciWebservice.deploy_configuration()
    )
    service.wait_for_deployment()
    replica = _containers(service)[0]
    assert replica.status.restart_count == 1
    logs = service.get_logs()
    assert "[emulator] fault f1 applied to flaky" in logs
    assert "init() failed because an init-failure fault was injected" in logs
    assert _post(service.scoring_uri)[0] == 200

    faults.fail_init()
    faults.kill()  # the restart that follows the kill takes the init failure
    # two more restarts with their back-off: generous, as a loaded CI machine is slow
    _until(lambda: replica.status.restart_count == 3 and replica.ready, timeout=60)
    assert [f.state for f in faults.list()] == [FaultState.DONE] * 3
    service.delete()


def test_status_and_token_expiry_through_the_sdk(deploy_aks: Callable[..., Any]) -> None:
    service = deploy_aks(
        "tokened", num_replicas=1, token_auth_enabled=True, autoscale_enabled=False
    )
    token, _ = service.get_token()
    assert _post(service.scoring_uri, token)[0] == 200
    with service.faults.expire_tokens():
        assert _post(service.scoring_uri, token) == (401, "Unauthorized, token expired")
        with pytest.raises(WebserviceException, match="Response Code: 401"):
            service.run("{}")  # a fresh token is refused too
    with service.faults.status(503), pytest.raises(WebserviceException, match="Code: 503"):
        service.run("{}")
    assert service.run("{}")["version"] == 1
    service.delete()


def test_the_cli_reaches_a_service_hosted_by_another_process(
    aml_workspace: Workspace, timed_image: Image, aml_root: Path
) -> None:
    service = Webservice.deploy_from_image(aml_workspace, "remote", timed_image)
    service.wait_for_deployment()

    def amlemu(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "emulator", "--root", str(aml_root), "faults", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "AZUREML_EMULATOR_ROOT": str(aml_root)},
        )

    injected = amlemu("inject", "remote", "status", "--status", "502", "--share", "1")
    assert injected.returncode == 0, injected.stderr
    assert injected.stdout.startswith("Injected f1 into remote: answer 502")
    assert _post(service.scoring_uri)[0] == 502
    killed = amlemu("inject", "remote", "kill")
    assert killed.returncode == 0, killed.stderr
    assert "(done: replica 0 (remote-" in killed.stdout and "killed with SIGKILL" in killed.stdout
    listed = json.loads(amlemu("list", "--json").stdout)
    assert [(row["target"], row["id"], row["state"]) for row in listed] == [
        ("remote", "f1", "active"),
        ("remote", "f2", "done"),
    ]
    assert amlemu("clear", "remote", "--id", "f1").returncode == 0
    _until(lambda: _post(service.scoring_uri)[0] == 200)

    unknown = amlemu("inject", "nosuch", "drop")
    assert unknown.returncode == 1 and "No service 'nosuch'" in unknown.stderr
    bad = amlemu("inject", "remote", "latency")
    assert bad.returncode == 1 and "needs the delay in seconds" in bad.stderr
    usage = amlemu("inject", "remote", "explode")
    assert usage.returncode == 2 and "invalid choice: 'explode'" in usage.stderr
    assert "Traceback" not in unknown.stderr + bad.stderr + usage.stderr
    service.delete()


def test_image_build_and_provisioning_faults(aml_workspace: Workspace, workdir: Path) -> None:
    faults = workspace_faults(aml_workspace)
    faults.fail_image_build()
    (workdir / "score.py").write_text("def init():\n    pass\n\ndef run(data):\n    return data\n")
    config = ContainerImage.image_configuration("score.py", "python")
    failed = Image.create(aml_workspace, "broken", [], config)
    with pytest.raises(WebserviceException, match="Fault injection"):
        failed.wait_for_creation()
    assert failed.creation_state == "Failed"
    assert failed.error["step"] == "Fault injection"
    assert "fault f1 applied" in failed.error["message"]
    built = Image.create(aml_workspace, "broken", [], config)
    built.wait_for_creation()
    assert built.creation_state == "Succeeded"  # one attempt only

    faults.fail_provisioning()
    config = AksCompute.provisioning_configuration(cluster_purpose="DevTest")
    with pytest.raises(ComputeTargetException, match="fault f2 applied"):
        ComputeTarget.create(aml_workspace, "doomed", config).wait_for_completion()
    ComputeTarget.create(aml_workspace, "fine", config).wait_for_completion()
    assert [f.state for f in faults.list()] == [FaultState.DONE, FaultState.DONE]
