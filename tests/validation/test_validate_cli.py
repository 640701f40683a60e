"""``amlemu validate``: the seed's script is flagged with both problems and their fixes, the
fixed script passes, and exit codes tell findings (1) from validation that could not run (2)."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from emulator.cli.main import main

REPO = Path(__file__).resolve().parents[2]
SCORING = REPO / "fixtures" / "scoring"
ENV = REPO / "fixtures" / "environments" / "sklearn-env.yml"
TRIP = [1, 2, 5.5, 10, 3, 15, 6, "Memorial Day", "True", 0, 0.0, 0.0, 70.0]


@pytest.fixture(scope="module")
def taxi_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed's NYC taxi model stand-in (fixtures/models/build_nyc_taxi.py), pickled."""
    spec = importlib.util.spec_from_file_location(
        "amlemu_validate_taxi", REPO / "fixtures" / "models" / "build_nyc_taxi.py"
    )
    assert spec is not None and spec.loader is not None
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    return builder.build(tmp_path_factory.mktemp("taxi") / "model.pkl", trips=100)


def _validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["validate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _seed_args(tmp_path: Path, script: str, model: Path) -> list[str]:
    sample = tmp_path / "trip.json"
    sample.write_text(json.dumps([TRIP]))
    return [
        "--entry-script",
        str(SCORING / script),
        "--model",
        f"nyc-taxi-automl-predictor={model}",
        "--conda-file",
        str(ENV),
        "--sample",
        str(sample),
    ]


@pytest.mark.slow
def test_the_seed_script_is_flagged_with_both_problems_and_their_fixes(
    aml_root: Path, tmp_path: Path, taxi_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _seed_args(tmp_path, "scoring_service_seed.py", taxi_model)
    code, out, _ = _validate(capsys, *args, "--format", "json")
    assert code == 1
    findings = {f["id"]: f for f in json.loads(out)["findings"]}
    assert findings["AML011"]["line"] == 13
    assert "sklearn.externals.joblib was removed" in findings["AML011"]["message"]
    assert findings["AML011"]["hint"].startswith("Replace the import: import joblib")
    assert findings["AML030"]["line"] == 33 and "Re-raise" in findings["AML030"]["hint"]
    # What it does at run time: init() hid the import error, so the sample gets 200 and a
    # NameError's text instead of a fare.
    assert "name 'model' is not defined" in findings["AML031"]["message"]
    assert findings["AML005"]["severity"] == "warning"


@pytest.mark.slow
def test_the_fixed_seed_script_passes(
    aml_root: Path, tmp_path: Path, taxi_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _validate(capsys, *_seed_args(tmp_path, "validate_seed_fixed.py", taxi_model))
    assert code == 0, out
    assert out.splitlines()[-1] == "0 error(s), 0 warning(s), 0 note(s)"
    assert "measured: start-up" in out


def test_a_spec_file_with_a_deploy_configuration(
    aml_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(SCORING / "score_echo.py", tmp_path / "score.py")
    (tmp_path / "aml-deployment.yml").write_text(
        "entry_script: score.py\n"
        "environment: []\n"
        "target: aks\n"
        "deployment_config: {memory_gb: 0.01}\n"
        "samples:\n"
        "  - request: {data: [1, 2]}\n"
        "    expect: '{\"data\": [1, 2]}'\n"
    )
    code, out, _ = _validate(capsys, "--spec", str(tmp_path / "aml-deployment.yml"))
    assert code == 1
    assert "error    AML070  peak memory against memory_gb" in out
    assert "of memory_gb=0.01 (10 MB)" in out
    assert "AML051" not in out  # the echo answers the body as a JSON string, as expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--entry-script", "missing.py"], "Entry script missing.py doesn't exist"),
        (["--entry-script", "{echo}", "--model", "model.pkl"], "expected NAME=PATH"),
        (["--spec", "x.yml", "--entry-script", "{echo}"], "drop --entry-script or the spec"),
        ([], "Pass --entry-script SCRIPT (or --spec aml-deployment.yml)"),
        (["--entry-script", "{echo}", "--deploy-config", "{a_list}"], "must be a JSON object"),
        (["--entry-script", "{echo}", "--conda-file", "{conda_only}"], "cannot be built"),
    ],
)
def test_validation_that_cannot_run_exits_2(
    aml_root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    conda_only = tmp_path / "env.yml"
    conda_only.write_text("dependencies:\n- python=3.11\n- cudatoolkit=11.8\n")
    (tmp_path / "dc.json").write_text("[1, 2]")
    paths = {
        "echo": str(SCORING / "score_echo.py"),
        "conda_only": str(conda_only),
        "a_list": str(tmp_path / "dc.json"),
    }
    code, out, err = _validate(capsys, *(arg.format(**paths) for arg in args))
    assert code == 2 and out == ""
    assert err.startswith("amlemu validate: error: ") and message in err
