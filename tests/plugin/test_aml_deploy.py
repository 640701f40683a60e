"""``aml_deploy`` used as a user would: the plugin is active in this suite too.

Deployments without an environment run on the host builder (about a second each).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from pytest_amlemu import DeploymentFailed
from pytest_amlemu.deploy_factory import AmlDeploy

from emulator import AksWebservice, ComputeTarget, LocalWebservice, Model, Workspace

SCRIPT = """
import json, os

def init():
    global weights
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "weights.json")) as handle:
        weights = json.load(handle)
    print("weights-script: init done")

def run(raw):
    return {"scale": weights["scale"], "pid": os.getpid(), "x": json.loads(raw)["x"]}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "score.py").write_text(SCRIPT)
    (tmp_path / "weights.json").write_text(json.dumps({"scale": 3}))
    return tmp_path


def test_aci_service_with_a_model_path(aml_deploy: AmlDeploy, project: Path) -> None:
    service = aml_deploy(project / "score.py", models=[project / "weights.json"], cpu_cores=0.5)
    assert service.state == "Healthy" and service.compute_type == "ACI"
    assert service.run(json.dumps({"x": 1}))["scale"] == 3
    assert [m.name for m in service.models] == ["weights"]
    assert "weights-script: init done" in service.get_logs()
    assert aml_deploy.services == [service]


def test_relative_paths_resolve_from_the_working_directory(
    aml_deploy: AmlDeploy, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    service = aml_deploy("score.py", models={"weights": "weights.json"}, name="named-svc")
    assert service.name == "named-svc"
    assert service.run(json.dumps({"x": 2}))["x"] == 2


def test_aks_services_share_one_dev_test_cluster(
    aml_deploy: AmlDeploy, aml_workspace: Workspace, project: Path, monkeypatch
) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_PROVISIONING_SECONDS", "0")
    monkeypatch.chdir(project)
    model = Model.register(aml_workspace, "weights.json", "weights")
    one = aml_deploy(project / "score.py", models=[model], target="aks", num_replicas=1)
    two = aml_deploy(project / "score.py", models=[model], target="aks", num_replicas=1)
    assert isinstance(one, AksWebservice) and one.auth_enabled  # AKS: key auth by default
    assert [t.name for t in ComputeTarget.list(aml_workspace)] == ["amlemu-aks"]
    assert one.run(json.dumps({"x": 1}))["scale"] == two.run(json.dumps({"x": 1}))["scale"]


@pytest.mark.aml(target="local")
def test_the_marker_sets_the_default_target(aml_deploy: AmlDeploy, project: Path) -> None:
    service = aml_deploy(project / "score.py", models=[project / "weights.json"])
    assert isinstance(service, LocalWebservice) and service.state == "running"


def test_source_directory_and_a_pip_environment_on_the_host_builder(
    aml_deploy: AmlDeploy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")  # no virtualenv: check the host
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "helper.py").write_text("ANSWER = 42\n")
    (tmp_path / "src" / "score.py").write_text(
        "import yaml\nfrom helper import ANSWER\n\ndef init():\n    pass\n\n"
        "def run(raw):\n    return ANSWER\n"
    )
    service = aml_deploy("score.py", source_directory=tmp_path / "src", environment=["pyyaml"])
    assert service.run("{}") == 42


def test_bad_arguments_name_the_problem_and_the_fix(aml_deploy: AmlDeploy, project: Path) -> None:
    with pytest.raises(ValueError, match="target 'gcp' is not one of aci, aks, local"):
        aml_deploy(project / "score.py", target="gcp")
    with pytest.raises(FileNotFoundError, match=r"entry_script 'missing\.py' not found"):
        aml_deploy("missing.py")
    with pytest.raises(TypeError, match=r"models must be a list .* write models=\["):
        aml_deploy(project / "score.py", models=str(project / "weights.json"))
    with pytest.raises(TypeError, match=r"AciWebservice.deploy_configuration\(\)"):
        aml_deploy(project / "score.py", cpu_core=1)
    with pytest.raises(TypeError, match="environment must be None"):
        aml_deploy(project / "score.py", environment=42)
    assert aml_deploy.services == []


def test_a_build_failure_says_build_and_shows_the_build_log(
    aml_deploy: AmlDeploy, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")
    with pytest.raises(DeploymentFailed) as failed:
        aml_deploy(project / "score.py", environment=["surely-not-installed-pkg==1.0"])
    assert failed.value.phase == "build"
    message = str(failed.value)
    assert message.startswith("[build] service score-1 did not come up")
    assert "surely-not-installed-pkg==1.0 required, not installed" in message
    assert "--- image build log of score-1" in message


@pytest.mark.slow
def test_a_crashing_init_fails_in_seconds_with_its_traceback(
    aml_deploy: AmlDeploy, tmp_path: Path
) -> None:
    (tmp_path / "score.py").write_text(
        "def init():\n    print('broken: loading')\n    raise RuntimeError('no model here')\n\n"
        "def run(raw):\n    return raw\n"
    )
    started = time.monotonic()
    with pytest.raises(DeploymentFailed) as failed:
        aml_deploy(tmp_path / "score.py")
    assert time.monotonic() - started < 30  # Azure's back-off would take minutes
    assert failed.value.phase == "startup"
    message = str(failed.value)
    assert "CrashLoopBackOff" in message and "RuntimeError: no model here" in message
    assert len(aml_deploy.services) == 1  # still deleted at teardown


@pytest.mark.slow
@pytest.mark.docker
def test_the_docker_backend_builds_runs_and_cleans_up_in_docker(
    pytester: pytest.Pytester, docker_engine: Any
) -> None:
    pytester.makepyfile(
        score_in_docker="import os\n\ndef init():\n    pass\n\ndef run(raw):\n    return 1\n",
        test_docker="""
        import pytest

        @pytest.mark.aml(backend="docker")
        def test_in_docker(aml_deploy):
            service = aml_deploy("score_in_docker.py")
            print("TAG", service.image.image_location)
            assert service.run("{}") == 1
        """,
    )
    result = pytester.runpytest("-s", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=1)
    tag = next(line.split("TAG ")[1] for line in result.outlines if "TAG " in line)
    assert tag.startswith("score-in-docker-")  # unique: the engine is shared by every worker
    assert not docker_engine.images.list(name=tag.split(":")[0])  # removed with the service
    assert not docker_engine.containers.list(
        all=True, filters={"label": f"azureml-emulator.service={tag.split(':')[0]}"}
    )
