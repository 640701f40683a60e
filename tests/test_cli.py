"""The amlemu command line: version, models list/show, run and the demo."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from emulator import Model, Workspace, __version__
from emulator.cli import main

REPO = Path(__file__).resolve().parent.parent


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert __version__ in capsys.readouterr().out


@pytest.fixture
def two_models(aml_workspace: Workspace, workdir: Path) -> Workspace:
    (workdir / "m.pkl").write_text("x")
    Model.register(aml_workspace, "m.pkl", "churn", tags={"area": "crm"})
    Model.register(aml_workspace, "m.pkl", "churn")
    Model.register(aml_workspace, "m.pkl", "fraud")
    return aml_workspace


def test_models_list_table_and_json(two_models: Workspace, capsys) -> None:
    assert main(["models", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["NAME", "VERSION", "KIND"]
    assert [line.split()[:2] for line in lines[1:]] == [
        ["churn", "2"],
        ["churn", "1"],
        ["fraud", "1"],
    ]

    assert main(["models", "list", "--latest", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [m["id"] for m in listed] == ["churn:2", "fraud:1"]


def test_models_show(two_models: Workspace, capsys) -> None:
    assert main(["models", "show", "churn:1", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["id"] == "churn:1"
    assert shown["tags"] == {"area": "crm"}
    assert shown["files"][0]["path"] == "m.pkl"


def test_models_show_unknown_fails_with_a_hint(two_models: Workspace, capsys) -> None:
    assert main(["models", "show", "chrn"]) == 1
    assert "Did you mean 'churn'?" in capsys.readouterr().err


def test_workspace_must_be_unambiguous(two_models: Workspace, capsys) -> None:
    Workspace.create("second", subscription_id="s", resource_group="rg", show_output=False)
    assert main(["models", "list"]) == 1
    err = capsys.readouterr().err
    assert "Pass --workspace NAME" in err and "second" in err
    assert main(["models", "list", "-w", "second"]) == 0


def test_run_executes_sdk_code_unchanged(tmp_path: Path) -> None:
    env_root = tmp_path / "root"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "emulator",
            "--root",
            str(env_root),
            "run",
            str(REPO / "examples" / "register_and_resolve.py"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "Model Version: 1" in result.stdout
    assert "azureml-models/nyc-taxi-automl-predictor/1/model.pkl" in result.stdout


def test_run_passes_arguments_and_exit_code(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text("import sys, azureml.core\nprint(sys.argv[1:])\nsys.exit(3)\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "emulator",
            "--root",
            str(tmp_path / "r"),
            "run",
            str(script),
            "a",
            "--flag",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 3
    assert "['a', '--flag']" in result.stdout


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert 'ACI service creation operation finished, operation "Succeeded"' in out
    assert 'AKS service creation operation finished, operation "Succeeded"' in out
    assert "/api/v1/service/nyc-taxi-automl-service-aks/score" in out
    # Fares for data1 from ACI and from AKS (double-encoded, as the seed's run() returns them).
    fares = re.findall(r'^"\[(\d+\.\d+)\]"$', out, flags=re.MULTILINE)
    assert len(fares) == 2 and fares[0] == fares[1] and 5 < float(fares[0]) < 30
    assert "Done in" in out
