"""``amlemu validate --deployment``: an ``az ml`` online deployment YAML runs the validator's
checks (imports, model paths under AZUREML_MODEL_DIR, init(), samples, request_timeout_ms and
the instance type against what was measured), with registered assets read from the root."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from v2_project import DEPLOYMENT, PYTHON, write_project

from emulator.assets.versions import AssetVersions
from emulator.cli.main import main
from emulator.models.registry import ModelRegistry
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceStore
from emulator.validation.checks import Severity
from emulator.validation.resources import GIB, Measurements, resource_findings
from emulator.validation.target import CannotValidate
from emulator.validation.v2_limits import managed_limits
from emulator.validation.v2_target import load_deployment

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "v2-deployment"


def _project(
    folder: Path,
    deployment: str = DEPLOYMENT,
    model_path: str = "model/scale.json",
    sleep: float = 0,
    header: str = "",
) -> Path:
    return write_project(folder, deployment, model_path=model_path, sleep=sleep, header=header)


def _validate(
    capsys: pytest.CaptureFixture[str], *args: str | Path
) -> tuple[int, dict[str, Any] | None, str]:
    """Exit code, the JSON report (None when validation could not run) and stderr."""
    code = main(["validate", "--format", "json", "--builder", "host", *map(str, args)])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def _findings(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    assert report is not None
    findings: list[dict[str, Any]] = report["findings"]
    return findings


def _ids(report: dict[str, Any] | None) -> list[str]:
    return [f["id"] for f in _findings(report)]


def test_a_good_deployment_passes_with_the_layout_and_limits_azure_gives(
    aml_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _project(tmp_path)
    code, report, _ = _validate(capsys, "--deployment", path, "--sample", tmp_path / "request.json")
    assert code == 0, report
    assert report is not None
    assert _ids(report) == []
    assert report["deployment"] == {
        "file": "blue-deployment.yml",
        "name": "blue",
        "endpointName": "scale-ep",
        "modelDir": "/var/azureml-app/azureml-models/anonymous-model/1",
    }
    limits = report["limits"]
    assert limits == {
        "target": "managed",
        "cpuCores": 4.0,
        "memoryInGB": 14.0,
        "scoringTimeoutMs": 3000,
        "startupDeadlineSeconds": 310.0,  # liveness_probe defaults: 10 + 10 x 30
        "instanceType": "Standard_DS3_v2",
    }
    measurements = report["measurements"]
    assert isinstance(measurements, dict) and measurements["run"]["calls"] == 1


def test_samples_in_the_yaml_are_scored_and_compared(
    aml_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """FACTOR from environment_variables reaches init(): 2 x 3 = 6 per unit. The file is a
    spec file too (``--spec`` reads a v2 YAML as ``--deployment`` does)."""
    samples = """
    samples:
      - name: scaled
        request: {values: [1, 2]}
        expect: {scaled: [6, 12]}
      - name: wrong
        request: {values: [1]}
        expect: {scaled: [2]}
    """
    path = _project(tmp_path, DEPLOYMENT + textwrap.dedent(samples))
    code, report, _ = _validate(capsys, "--spec", path)
    assert code == 1
    assert _ids(report) == ["AML051"]
    (finding,) = _findings(report)
    assert finding["message"] == 'wrong: run() answered {"scaled": [6]}, expected {"scaled": [2]}'


def test_a_spec_can_name_the_untouched_az_ml_yaml_beside_its_samples(
    aml_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``deployment: blue-deployment.yml`` keeps the file az ml takes free of ``samples``."""
    _project(tmp_path)
    spec = tmp_path / "aml-deployment.yml"
    spec.write_text(
        "deployment: blue-deployment.yml\n"
        "samples:\n  - {name: two, request: {values: [2]}, expect: {scaled: [12]}}\n"
        "  - {name: low, request: {values: [2]}, expect: {scaled: [4]}}\n"
    )
    code, report, _ = _validate(capsys, "--spec", spec)
    assert code == 1
    assert [f["message"] for f in _findings(report)] == [
        'low: run() answered {"scaled": [12]}, expected {"scaled": [4]}'
    ]

    spec.write_text("deployment: blue-deployment.yml\nentry_script: score.py\n")
    code, _, err = _validate(capsys, "--spec", spec)
    assert code == 2
    assert "entry_script cannot go with deployment: the az ml YAML it names" in err


def test_a_missing_scoring_script_names_the_key_and_the_fix(
    aml_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _project(
        tmp_path, DEPLOYMENT.replace("scoring_script: score.py", "scoring_script: s.py")
    )
    code, report, err = _validate(capsys, "--deployment", path)
    assert (code, report) == (2, None)
    assert "blue-deployment.yml: code_configuration.scoring_script 's.py' is not in " in err
    assert "Name the script relative to code_configuration.code." in err


def test_an_import_the_environment_lacks_is_flagged(
    aml_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _project(tmp_path, header="import amlemu_no_such_package\n")
    code, report, _ = _validate(capsys, "--deployment", path)
    assert code == 1
    assert _ids(report) == ["AML010", "AML040"]
    messages = [f["message"] for f in _findings(report)]
    assert "module 'amlemu_no_such_package' is not installed" in messages[0]
    assert "ModuleNotFoundError" in messages[1]


def test_a_model_path_outside_the_v2_layout_is_flagged_with_the_deployed_path(
    aml_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The registered folder keeps its name below AZUREML_MODEL_DIR: 'scale.json' alone is
    wrong, 'model/scale.json' right."""
    path = _project(tmp_path, model_path="scale.json")
    code, report, _ = _validate(capsys, "--deployment", path)
    assert code == 1
    assert _ids(report) == ["AML021", "AML040"]
    layout = _findings(report)[0]
    assert layout["message"] == (
        "'scale.json' under AZUREML_MODEL_DIR does not exist in this deployment (one model: "
        "AZUREML_MODEL_DIR is azureml-models/anonymous-model/1)"
    )
    assert layout["hint"] == "Join the deployed path 'model/scale.json'."


def test_a_request_timeout_below_the_measured_latency_fails(
    aml_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _project(
        tmp_path,
        DEPLOYMENT.replace("request_timeout_ms: 3000", "request_timeout_ms: 100"),
        sleep=0.4,
    )
    code, report, _ = _validate(capsys, "--deployment", path, "--sample", tmp_path / "request.json")
    assert code == 1
    timeouts = [f for f in _findings(report) if f["id"] == "AML071"]
    assert timeouts
    assert "within request_settings.request_timeout_ms=100" in timeouts[0]["message"]
    assert timeouts[0]["hint"].startswith("Raise request_settings.request_timeout_ms")


def test_registered_model_and_environment_are_read_from_the_workspace(
    aml_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``azureml:name:version`` as a v2 client registered them: the model's folder keeps its
    name, AZUREML_MODEL_DIR is the registered name and version."""
    _project(tmp_path)
    root = EmulatorRoot(aml_root)
    workspace, _ = WorkspaceStore(root).create("sub", "rg", "ws")
    ModelRegistry(root, workspace.id).register(tmp_path / "model", "scale-model")
    conda = (tmp_path / "conda.yml").read_text()
    AssetVersions(root, workspace.id, "environments").put(
        "scale-env", "1", {"condaFile": conda, "image": "mcr.microsoft.com/azureml/base"}
    )
    registered = DEPLOYMENT.replace("model:\n  path: ./model", "model: azureml:scale-model:1")
    registered = registered.replace(
        "environment:\n  conda_file: ./conda.yml\n"
        "  image: mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu-inference:latest",
        "environment: azureml:scale-env@latest",
    )
    path = tmp_path / "registered.yml"
    path.write_text(registered)
    request = tmp_path / "request.json"
    code, report, _ = _validate(capsys, "--deployment", path, "--sample", request, "-w", "ws")
    assert code == 0, report
    assert report is not None
    deployment = report["deployment"]
    assert isinstance(deployment, dict)
    assert deployment["modelDir"] == "/var/azureml-app/azureml-models/scale-model/1"

    path.write_text(registered.replace("azureml:scale-model:1", "azureml:scale-model:7"))
    code, _, err = _validate(capsys, "--deployment", path, "-w", "ws")
    assert code == 2
    assert "model azureml:scale-model:7 is not registered in this workspace (latest versions: " \
        "scale-model:1)" in err  # fmt: skip


def test_the_endpoint_yaml_must_be_the_deployments_endpoint(
    aml_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _project(tmp_path)
    endpoint = tmp_path / "endpoint.yml"
    endpoint.write_text("name: other-ep\nauth_mode: key\n")
    code, _, err = _validate(capsys, "--deployment", path, "--endpoint", endpoint)
    assert code == 2
    assert (
        "blue-deployment.yml deploys to endpoint_name 'scale-ep' but endpoint.yml is endpoint "
        "'other-ep': make them the same name." in err
    )


def test_az_ml_schema_errors_are_refused_with_its_message(tmp_path: Path) -> None:
    pytest.importorskip("azure.ai.ml")
    path = _project(tmp_path, DEPLOYMENT + "app_insights_enabled: maybe\n")
    with pytest.raises(CannotValidate, match="az ml would refuse this file") as caught:
        load_deployment(path)
    assert '"app_insights_enabled": [\n    "Not a valid boolean."' in str(caught.value)


def test_without_azure_ai_ml_the_emulators_own_checks_name_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "azure.ai.ml", None)  # import fails as when not installed
    good = _project(tmp_path)
    assert load_deployment(good).request_settings.request_timeout_ms == 3000
    typo = tmp_path / "typo.yml"
    typo.write_text(DEPLOYMENT.replace("instance_count", "instance_cont"))
    with pytest.raises(CannotValidate, match="unknown key 'instance_cont'; did you mean "):
        load_deployment(typo)
    (tmp_path / "no-type.yml").write_text(DEPLOYMENT.replace("instance_type: Standard_DS3_v2", ""))
    with pytest.raises(CannotValidate, match="instance_type is required for a managed online"):
        load_deployment(tmp_path / "no-type.yml")
    no_env = DEPLOYMENT.split("environment:")[0] + "instance_type: Standard_DS3_v2\n"
    (tmp_path / "no-env.yml").write_text(no_env)
    with pytest.raises(CannotValidate, match="environment is required for a deployment with a"):
        load_deployment(tmp_path / "no-env.yml")


def test_instance_type_memory_and_probe_against_measurements(tmp_path: Path) -> None:
    """Limits from the VM size table: Standard_DS1_v2 has 1 vCPU and 3.5 GB."""
    deployment = DEPLOYMENT.replace("Standard_DS3_v2", "standard_ds1_v2") + textwrap.dedent(
        """
        liveness_probe:
          initial_delay: 5
          period: 2
          failure_threshold: 3
        """
    )
    limits = managed_limits(load_deployment(_project(tmp_path, deployment)))
    assert (limits.cpu_cores, limits.memory_gb, limits.startup_seconds) == (1.0, 3.5, 11.0)
    measured = Measurements(
        startup_wall_ms=12_000,
        startup_cpu_ms=12_000,
        startup_peak_bytes=3 * GIB,
        peak_bytes=4 * GIB,
        baseline_bytes=GIB // 10,
        run_wall_ms=(10.0,),
        run_cpu_ms=(10.0,),
    )
    memory, startup = resource_findings(measured, limits)
    assert (memory.check, memory.severity, startup.check) == ("AML070", Severity.ERROR, "AML072")
    assert "114% of the memory of instance_type Standard_DS1_v2 (3.5 GB)" in memory.message
    assert memory.hint.startswith("Choose an instance_type with more memory")
    assert "restarts the replica after 11 s (initial_delay 5 + period 2 x failure_threshold 3)" in (
        startup.message
    )


def test_the_example_deployment_validates_clean(
    aml_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """tests/examples/v2-deployment, with its endpoint and sample, as a user runs it (the
    conda file's python pinned to this interpreter's, so nothing is installed)."""
    example = tmp_path / "example"
    shutil.copytree(EXAMPLES, example)
    conda = example / "conda.yml"
    conda.write_text(conda.read_text().replace("python=3.11", f"python={PYTHON}"))
    code, report, _ = _validate(
        capsys,
        "--deployment",
        example / "blue-deployment.yml",
        "--endpoint",
        example / "endpoint.yml",
        "--sample",
        example / "sample-request.json",
    )
    assert code == 0, report
    assert _ids(report) == []
