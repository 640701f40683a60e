"""``amlemu ls``, ``describe``, ``build-log``, ``logs`` and ``exec`` against the seed-shaped
world of ``conftest.py``, each run in its own process as from a user's terminal."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_harness import MODEL_NAME, World, amlemu

from emulator.cli import main
from emulator.runtime.limits import cgroup_bases, describe_mechanism


def test_ls_lists_every_kind_grouped(world: World) -> None:
    result = amlemu(world.root, "ls")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for title in ("Models:", "Images:", "Services:", "Compute:"):
        assert title in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line and " " in line}
    assert rows[MODEL_NAME][:2] == [MODEL_NAME, "1"]
    assert rows["gpu-img"][2] == "Failed" and rows["seed-img"][2] == "Succeeded"
    assert rows["seed-svc"][1:4] == ["ACI", "Healthy", "1"]
    assert world.service.scoring_uri in rows["seed-svc"]
    assert rows["aks-quota"][1:4] == ["AKS", "Failed", "Standard_D3_v2"]
    assert rows["aks-dev"][1:4] == ["AKS", "Succeeded", "Standard_D1_v2"]
    assert rows["seed-aks"][1:5] == ["AKS", "Healthy", "autoscale", "1-2"]


def test_ls_json_of_one_kind_and_of_all(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    result = amlemu(world.root, "ls", "services", "--json")
    assert result.returncode == 0, result.stderr
    listed = {service["name"]: service for service in json.loads(result.stdout)}["seed-svc"]
    assert listed["name"] == "seed-svc" and listed["state"] == "Healthy"
    assert listed["scoringUri"] == world.service.scoring_uri
    primary, _ = world.service.get_keys()
    assert listed["primaryKey"] != primary and listed["primaryKey"].endswith(primary[-4:])

    assert main(["ls", "--json"]) == 0  # in-process: the same workspace, every kind
    everything = json.loads(capsys.readouterr().out)
    assert sorted(everything) == ["compute", "images", "models", "services"]
    assert {i["id"]: i["creationState"] for i in everything["images"]} == {
        "gpu-img:1": "Failed",
        "seed-img:1": "Succeeded",
    }
    states = {c["name"]: c["properties"]["provisioningState"] for c in everything["compute"]}
    assert states == {"aks-dev": "Succeeded", "aks-quota": "Failed"}


def test_describe_model(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["describe", "model", MODEL_NAME]) == 0
    out = capsys.readouterr().out
    assert f"{MODEL_NAME}:1" in out and '"area": "seed"' in out and '"stage": "test"' in out
    assert "model.pkl  (7 bytes)" in out and "versions" in out

    assert main(["describe", "models", f"{MODEL_NAME}:1", "--json"]) == 0
    details = json.loads(capsys.readouterr().out)
    assert details["versions"] == [1] and details["files"][0]["path"] == "model.pkl"
    assert details["tags"] == {"area": "seed"} and "libraryVersions" in details


def test_describe_failed_image_names_the_failing_step(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    result = amlemu(world.root, "describe", "image", "gpu-img")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Failed" in out and "failing step         Resolve requirements" in out
    assert "cudatoolkit" in out and world.failed_image.image_build_log_uri in out
    assert world.failed_image.generated_dockerfile_uri in out

    assert main(["describe", "image", "gpu-img:1", "--json"]) == 0
    details = json.loads(capsys.readouterr().out)
    assert details["failingStep"] == "Resolve requirements"
    assert details["error"]["code"] == "ImageBuildFailed"
    assert details["modelIds"] == [f"{MODEL_NAME}:1"]


def test_describe_service_shows_the_deployments_blade(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    service = world.service
    primary, secondary = service.get_keys()
    result = amlemu(world.root, "describe", "service", "seed-svc")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in (
        "service id           seed-svc",
        "state                Healthy",
        "compute type         ACI",
        f"scoring uri          {service.scoring_uri}",
        f"swagger uri          {service.swagger_uri}",
        "auth                 key",
        f"models               {MODEL_NAME}:1",
        "image                seed-img:1",
        '{"team": "cli"}',
    ):
        assert expected in out
    assert primary not in out and primary[-4:] in out and "--show-keys" in out
    replica_line = next(line for line in out.splitlines() if "seed-svc-" in line)
    assert replica_line.split()[0] == "1" and "running" in replica_line
    # Which mechanism enforces memory_gb: the kernel's cgroup, or the per-process fallback.
    mechanism = cgroup_bases()[0] or "rlimit"
    assert replica_line.split()[4] == mechanism
    assert f"  limits {mechanism}: {describe_mechanism(mechanism)}" in out

    assert main(["describe", "service", "seed-svc", "--show-keys", "--json"]) == 0
    details = json.loads(capsys.readouterr().out)
    assert (details["primaryKey"], details["secondaryKey"]) == (primary, secondary)
    (replica,) = details["replicas"]
    assert replica["running"] and replica["backend"] == "process" and replica["pid"] > 0
    assert replica["limits"] == mechanism
    assert replica["limitsDetail"] == describe_mechanism(mechanism)
    assert Path(replica["log"]).is_file()
    assert details["hostPid"] == os.getpid() and details["hostAlive"]


def test_describe_failed_compute_shows_the_quota_error(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    result = amlemu(world.root, "describe", "compute", "aks-quota")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "provisioning state   Failed" in out
    assert "Operation results in exceeding quota limits of Core. Maximum allowed: 1" in out
    assert "Standard_D3_v2 (4 vCPUs, 14 GB)" in out

    assert main(["describe", "compute", "aks-quota", "--json"]) == 0
    details = json.loads(capsys.readouterr().out)
    (error,) = details["properties"]["provisioningErrors"]
    assert error["error"]["code"] == "QuotaExceeded"
    assert details["nodes"] == [] and details["agentCount"] == 3


def test_describe_aks_cluster_shows_nodes_and_reservations(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["describe", "compute", "aks-dev"]) == 0
    out = capsys.readouterr().out
    assert "provisioning state   Succeeded" in out
    node_line = next(line for line in out.splitlines() if "aks-agentpool-" in line)
    assert node_line.split()[1:3] == ["1", "3.5"]  # Standard_D1_v2: 1 vCPU, 3.5 GB
    assert "0.2 cpu / 0.25 GB" in node_line and node_line.endswith("seed-aks")

    assert main(["describe", "service", "seed-aks", "--json"]) == 0
    details = json.loads(capsys.readouterr().out)
    assert details["computeName"] == "aks-dev" and details["authMode"] == "key"
    assert details["autoScaler"]["autoscaleEnabled"] and details["autoScaler"]["maxReplicas"] == 2
    assert details["replicaSettings"] == "autoscale 1-2 @70%"
    assert details["scoringUri"].endswith("/api/v1/service/seed-aks/score")
    assert [r["replica"] for r in details["replicas"]] == [1]


def test_build_log_prints_the_log_of_the_failed_build(world: World) -> None:
    result = amlemu(world.root, "build-log", "gpu-img:1")
    assert result.returncode == 0, result.stderr
    log = Path(world.failed_image.image_build_log_uri.removeprefix("file://"))
    assert result.stdout == log.read_text()
    assert "FAILED step 'Resolve requirements'" in result.stdout


def test_logs_show_init_output(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    result = amlemu(world.root, "logs", "seed-svc")
    assert result.returncode == 0, result.stderr
    assert f"seed-score: init found the model at {world.image.image_location}" in result.stdout
    assert result.stdout == world.service.get_logs(num_lines=None)  # type: ignore[arg-type]

    assert main(["logs", "seed-svc", "--init", "--tail", "2"]) == 0
    startup = capsys.readouterr().out
    assert startup.splitlines()[-1].endswith("ready for serving traffic")
    assert len(startup.splitlines()) == 2


def test_exec_runs_the_seeds_recipe_inside_the_container(world: World) -> None:
    recipe = (
        "import logging; logging.basicConfig(level=logging.DEBUG); "
        "from azureml.core.model import Model; "
        f"print(Model.get_model_path(model_name='{MODEL_NAME}'))"
    )
    result = amlemu(world.root, "exec", "seed-svc", "--", "python", "-c", recipe)
    assert result.returncode == 0, result.stderr
    app_root = Path(world.image.image_location or "") / "azureml-app"
    printed = Path(result.stdout.strip())
    assert printed.relative_to(app_root).as_posix() == f"azureml-models/{MODEL_NAME}/1/model.pkl"
    assert printed.read_bytes() == b"weights"
    assert "DEBUG:azureml.core.model" in result.stderr  # the DEBUG logging the seed turns on

    shell = "pwd; echo $AML_APP_ROOT; echo $AZUREML_MODEL_DIR; echo $AZUREML_ENTRY_SCRIPT; exit 7"
    seen = amlemu(world.root, "exec", "seed-svc", "--replica", "1", "--", "sh", "-c", shell)
    assert seen.returncode == 7  # the command's exit code
    cwd, aml_app_root, model_dir, entry = seen.stdout.split()
    assert cwd == aml_app_root == str(app_root)
    assert model_dir == str(app_root / "azureml-models" / MODEL_NAME / "1")
    assert entry == "score_seed_model.py"


def test_unknown_names_fail_with_exit_code_1(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    result = amlemu(world.root, "describe", "service", "seed-svx")
    assert result.returncode == 1
    assert "WebserviceNotFound" in result.stderr and "seed-svc" in result.stderr
    for args in (
        ["logs", "nope"],
        ["exec", "nope", "--", "true"],
        ["build-log", "nope"],
        ["describe", "compute", "nope"],
        ["describe", "image", "seed-img:9"],
        ["logs", "seed-svc", "--replica", "9"],
    ):
        assert main(args) == 1, args
    capsys.readouterr()
    assert main(["describe", "model", "my-best-modle"]) == 1
    assert "Did you mean 'my-best-model'?" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["ls", "widgets"],
        ["describe", "model"],
        ["describe", "model", "m:latest"],
        ["exec", "seed-svc"],
        ["logs", "seed-svc", "--tail", "-1"],
    ],
)
def test_bad_usage_exits_with_2(world: World, args: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2


def test_bad_usage_exit_code_in_a_real_process(world: World) -> None:
    result = amlemu(world.root, "ls", "widgets")
    assert result.returncode == 2 and "choose one of models, images" in result.stderr
