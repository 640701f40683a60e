"""``aml-deployment*.yml`` files collected as tests: one deployment, one item per sample."""

from __future__ import annotations

import re

import pytest

# the inner runs keep file order even where pytest-randomly is installed
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:randomly")

SCRIPT = """
import json, os

def init():
    global scale
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "scale.json")) as handle:
        scale = json.load(handle)["scale"]
    print("spec-script: init, pid", os.getpid())

def run(raw):
    values = json.loads(raw)["values"]
    return {"scaled": [scale * v for v in values], "pid": os.getpid()}
"""

SPEC = """
entry_script: score.py
models:
  scale: scale.json
deployment_config: {cpu_cores: 0.5, auth_enabled: true}
samples:
  - name: exact
    request: {"values": [1, 2]}
    expect_schema: {type: object, required: [scaled, pid]}
  - name: schema
    request: {"values": [3]}
    expect_schema:
      type: object
      properties:
        scaled: {type: array, items: {type: integer}}
  - name: wrong-answer
    request: {"values": [1]}
    expect_schema: {type: object, properties: {scaled: {type: array, items: {type: string}}}}
  - name: wrong-status
    request: "not json at all"
"""


def _project(pytester: pytest.Pytester, spec: str, script: str = SCRIPT) -> None:
    (pytester.path / "score.py").write_text(script)
    (pytester.path / "scale.json").write_text('{"scale": 10}')
    (pytester.path / "aml-deployment-scale.yml").write_text(spec)


def test_each_sample_is_an_item_of_one_deployment(pytester: pytest.Pytester) -> None:
    _project(pytester, SPEC)
    result = pytester.runpytest(*QUIET, "-v")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "aml-deployment-scale.yml::exact PASSED*",
            "aml-deployment-scale.yml::schema PASSED*",
            "aml-deployment-scale.yml::wrong-answer FAILED*",
            "aml-deployment-scale.yml::wrong-status FAILED*",
            "*[[]scoring] sample wrong-answer of service score-1:",
            "  $.scaled[[]0]: expected string, got integer 10",
            "*azureml service score-1 logs*",
            "*[[]scoring] sample wrong-status of service score-1:",
            "  expected status 200, got 500; body: *",
        ]
    )
    inits = set(re.findall(r"spec-script: init, pid \d+", result.stdout.str()))
    assert len(inits) == 1  # deployed once for the four items


def test_exact_expectations_show_both_values(pytester: pytest.Pytester) -> None:
    spec = SPEC.split("  - name: schema")[0].replace(
        "expect_schema: {type: object, required: [scaled, pid]}", "expect: {scaled: [10, 20]}"
    )
    _project(pytester, spec)
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ['*expected exactly {"scaled": [[]10, 20]}', '*got {"scaled": [[]10, 20], "pid": *}']
    )


@pytest.mark.slow
def test_a_broken_init_fails_every_item_at_startup_once(pytester: pytest.Pytester) -> None:
    broken = "def init():\n    raise ValueError('bad weights')\n\ndef run(raw):\n    return 1\n"
    _project(pytester, SPEC, script=broken)
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(failed=4)
    output = result.stdout.str()
    # One report per item; the short summary (which repeats messages in full when the CI
    # variable is set) is left out of the count.
    reports = [line for line in result.stdout.lines if line.startswith("[startup] ")]
    assert reports == [reports[0]] * 4
    assert reports[0].startswith("[startup] service score-1 did not come up")
    assert "ValueError: bad weights" in output
    containers = set(re.findall(r"container (score-1-[0-9a-f]{6}-\d+)", output))
    assert len(containers) == 1  # one deployment tried, not four


def test_missing_files_fail_in_the_build_phase(pytester: pytest.Pytester) -> None:
    (pytester.path / "aml-deployment-missing.yml").write_text(
        "entry_script: nowhere.py\nsamples:\n  - request: {}\n"
    )
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*[[]build] service aml-deployment-missing.yml did not come up: FileNotFoundError: "
         "aml_deploy: entry_script 'nowhere.py' not found*"]
    )  # fmt: skip


def test_a_malformed_spec_is_a_collection_error_with_the_fix(pytester: pytest.Pytester) -> None:
    (pytester.path / "aml-deployment-typo.yml").write_text(
        "entry_script: score.py\nsample:\n  - request: {}\n"
    )
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*aml-deployment-typo.yml: unknown key 'sample'; did you mean 'samples'? Allowed keys:*"]
    )
