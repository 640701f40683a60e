"""Reading spec files: a complete one, and each kind of mistake with its message."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_amlemu.spec_schema import SpecError, load_spec

FULL = """
entry_script: score.py
source_directory: src
models: {iris: model.json}
environment: [scikit-learn, numpy]
target: aks
deployment_config: {num_replicas: 1}
samples:
  - name: first
    request: {"data": [1]}
    expect: [0]
  - request: "raw text"
    status: 415
    expect_schema: {type: string}
"""


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "aml-deployment.yml"
    path.write_text(text)
    return load_spec(path)


def test_a_complete_spec(tmp_path: Path) -> None:
    spec = _load(tmp_path, FULL)
    assert spec.entry_script == "score.py" and spec.source_directory == "src"
    assert spec.models == {"iris": "model.json"} and spec.target == "aks"
    assert spec.environment == ["scikit-learn", "numpy"]
    assert spec.deployment_config == {"num_replicas": 1}
    first, second = spec.samples
    assert (first.name, first.request, first.status, first.has_expect) == (
        "first",
        {"data": [1]},
        200,
        True,
    )
    assert (second.name, second.status, second.has_expect) == ("sample-2", 415, False)
    assert second.expect_schema == {"type": "string"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("- a list", "must be a mapping with at least entry_script and samples"),
        ("samples: [{request: 1}]", "entry_script .* is required"),
        ("entry_script: s.py\nsample: []", "unknown key 'sample'; did you mean 'samples'"),
        ("entry_script: s.py\nsamples: []", "samples must be a non-empty list"),
        ("entry_script: s.py\ntarget: gke\nsamples: [{request: 1}]", "target 'gke' is not one of"),
        ("entry_script: s.py\nmodels: [m.pkl]\nsamples: [{request: 1}]", "models must map names"),
        ("entry_script: s.py\nenvironment: 3\nsamples: [{request: 1}]", "environment must be"),
        (
            "entry_script: s.py\nsamples: [{expect: 1}]",
            r"samples\[0\] must be a mapping with a request",
        ),
        ("entry_script: s.py\nsamples: [{request: 1, status: 9}]", "must be an HTTP status code"),
        ("entry_script: s.py\nsamples: [{request: 1, expected: 1}]", "did you mean 'expect'"),
        (
            "entry_script: s.py\nsamples: [{request: 1, name: a}, {request: 2, name: a}]",
            "'a' is used twice",
        ),
        (
            "entry_script: s.py\nsamples: [{request: 1, expect_schema: {type: int}}]",
            r"samples\[0\].expect_schema.type: 'int' is not a JSON type",
        ),
        ("entry_script: [unclosed", "is not valid YAML"),
    ],
)
def test_mistakes_name_the_key_and_the_fix(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        _load(tmp_path, text)
