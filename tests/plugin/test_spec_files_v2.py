"""An ``az ml`` online deployment YAML standing in an ``aml-deployment*.yml`` spec: deployed
once with its code, model, environment and request timeout, one item per sample."""

from __future__ import annotations

import pytest
from v2_project import DEPLOYMENT, write_project

from emulator.settings import BUILDER_ENV

QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:randomly")
#: The shared project's deployment with a tighter timeout and two samples, one of them wrong.
SPEC = (
    DEPLOYMENT.replace("request_timeout_ms: 3000", "request_timeout_ms: 2000")
    + """samples:
  - name: scaled
    request: {"values": [1, 2]}
    expect: {"scaled": [6, 12]}
  - name: wrong
    request: {"values": [1]}
    expect: {"scaled": [2]}
"""
)


@pytest.fixture(autouse=True)
def _host_builder(monkeypatch: pytest.MonkeyPatch) -> None:
    """The conda file pins this interpreter's python only: nothing to install."""
    monkeypatch.setenv(BUILDER_ENV, "host")


def _project(
    pytester: pytest.Pytester,
    spec: str = SPEC,
    model_path: str = "model/scale.json",
    sleep: float = 0,
    header: str = "",
) -> None:
    write_project(pytester.path, spec, "aml-deployment-blue.yml", model_path, sleep, header)


def test_the_v2_deployment_is_deployed_once_and_its_samples_are_items(
    pytester: pytest.Pytester,
) -> None:
    """FACTOR (environment_variables) reaches init(); the model folder is below
    AZUREML_MODEL_DIR by its name, as Azure lays a v2 deployment's model out."""
    _project(pytester)
    result = pytester.runpytest(*QUIET, "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "aml-deployment-blue.yml::scaled PASSED*",
            "aml-deployment-blue.yml::wrong FAILED*",
            '*expected exactly {"scaled": [[]2]}',
            '*got {"scaled": [[]6]}',
        ]
    )


def test_a_spec_may_name_the_az_ml_yaml_and_keep_the_samples(pytester: pytest.Pytester) -> None:
    """The YAML az ml takes stays free of ``samples``; the spec names it."""
    _project(pytester, SPEC.split("samples:")[0])
    (pytester.path / "blue-deployment.yml").write_text(SPEC.split("samples:")[0])
    (pytester.path / "aml-deployment-blue.yml").write_text(
        "deployment: blue-deployment.yml\n"
        "samples:\n  - {name: scaled, request: {values: [1]}, expect: {scaled: [6]}}\n"
    )
    result = pytester.runpytest(*QUIET, "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["aml-deployment-blue.yml::scaled PASSED*"])


def test_a_missing_scoring_script_is_a_collection_error_with_the_fix(
    pytester: pytest.Pytester,
) -> None:
    _project(pytester, SPEC.replace("scoring_script: score.py", "scoring_script: scoring.py"))
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*aml-deployment-blue.yml: code_configuration.scoring_script 'scoring.py' is not in "
            "*. Name the script relative to code_configuration.code."
        ]
    )


def test_an_import_error_fails_every_item_at_startup(pytester: pytest.Pytester) -> None:
    _project(pytester, header="import amlemu_no_such_package")
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["[[]startup] service score-1 did not come up*"])
    assert "No module named 'amlemu_no_such_package'" in result.stdout.str()


def test_a_wrong_model_path_fails_at_startup_with_the_path(pytester: pytest.Pytester) -> None:
    """'scale.json' directly below AZUREML_MODEL_DIR: the model's folder name is missing."""
    _project(pytester, model_path="scale.json")
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(failed=2)
    output = result.stdout.str()
    assert "[startup] service score-1 did not come up" in output
    assert "FileNotFoundError" in output
    assert "azureml-models/anonymous-model/1/scale.json" in output


def test_run_slower_than_request_timeout_ms_fails_the_sample(pytester: pytest.Pytester) -> None:
    spec = SPEC.replace("request_timeout_ms: 2000", "request_timeout_ms: 100")
    _project(pytester, spec.split("  - name: wrong")[0], sleep=1.0)
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*expected status 200, got 500; body: *Scoring timeout after 100 ms*"]
    )


def test_registered_assets_are_refused_at_collection_with_the_fix(
    pytester: pytest.Pytester,
) -> None:
    _project(pytester, SPEC.replace("model:\n  path: ./model", "model: azureml:scale:1"))
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*aml-deployment-blue.yml: model azureml:scale:1: a spec file deploys into a fresh "
            "emulator root, where nothing is registered; give the files inline*"
        ]
    )


def test_a_v2_spec_needs_samples(pytester: pytest.Pytester) -> None:
    _project(pytester, SPEC.split("samples:")[0])
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*aml-deployment-blue.yml: samples must be a non-empty list*"])
