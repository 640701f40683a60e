"""Validation targets from spec files (the pytest collection's format) and from CLI values."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from emulator.validation.limits import Limits
from emulator.validation.spec import build_target, load_spec, parse_model_arg
from emulator.validation.target import CannotValidate, ModelSource


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(
        "def init():\n    pass\n\ndef run(d):\n    return d\n"
    )
    (tmp_path / "model.pkl").write_bytes(b"model")
    (tmp_path / "env.yml").write_text("dependencies:\n- python=3.11\n- pip:\n  - joblib\n")
    return tmp_path


def _spec(project: Path, text: str) -> Path:
    path = project / "aml-deployment.yml"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_spec_file_gives_the_whole_target(project: Path) -> None:
    path = _spec(
        project,
        """
        entry_script: score.py
        source_directory: src
        models: {sklearn-iris: model.pkl, encoder: {path: model.pkl, version: 4}}
        environment: env.yml
        target: aks
        deployment_config: {cpu_cores: 1, memory_gb: 2}
        samples:
          - name: ok
            request: {data: [[1, 2]]}
            expect: [1]
            expect_schema: {type: array}
          - request: '{"raw": true}'
            status: 400
        """,
    )
    target = load_spec(path)
    assert target.entry_script == project / "src" / "score.py"
    assert target.source_directory == project / "src"
    assert target.models == (
        ModelSource("sklearn-iris", project / "model.pkl"),
        ModelSource("encoder", project / "model.pkl", 4),
    )
    assert list(target.environment.python.conda_dependencies.pip_packages) == ["joblib"]
    assert target.limits == Limits.from_config("aks", {"cpu_cores": 1, "memory_gb": 2})
    first, second = target.samples
    assert (first.label, first.body, first.expect) == ("ok", b'{"data": [[1, 2]]}', [1])
    assert (second.label, second.body, second.status) == ("sample 2", b'{"raw": true}', 400)
    assert not second.has_expectation


def test_a_spec_without_environment_runs_on_this_interpreter(project: Path) -> None:
    target = load_spec(_spec(project, "entry_script: src/score.py\n"))
    assert target.environment.python.user_managed_dependencies
    assert target.samples == () and target.models == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("entry_script: missing.py\n", "Entry script missing.py doesn't exist"),
        ("entry_script: src/score.py\nsamplez: []\n", "unknown key\\(s\\) samplez"),
        ("entry_script: src/score.py\nmodels: {m: nope.pkl}\n", "Model m: .*nope.pkl doesn't"),
        ("entry_script: src/score.py\nsamples: [{status: 200}]\n", "sample 1 must be a mapping"),
        ("entry_script: src/score.py\nenvironment: env.txt\n", "Environment file .*env.txt"),
        ("entry_script: src/score.py\ntarget: fpga\n", "Unknown deployment target 'fpga'"),
        ("models: {}\n", "entry_script is required"),
        ("entry_script: [\n", "is not valid YAML"),
    ],
)
def test_spec_problems_name_the_key_and_the_fix(project: Path, text: str, message: str) -> None:
    with pytest.raises(CannotValidate, match=message):
        load_spec(_spec(project, text))


def test_model_arguments() -> None:
    assert parse_model_arg("iris=out/model.pkl") == ModelSource("iris", Path("out/model.pkl"))
    assert parse_model_arg("iris:3=m.pkl") == ModelSource("iris", Path("m.pkl"), 3)
    with pytest.raises(CannotValidate, match="expected NAME=PATH or NAME:VERSION=PATH"):
        parse_model_arg("model.pkl")


def test_the_entry_script_may_be_given_with_or_without_the_source_directory(
    project: Path,
) -> None:
    for script in ("score.py", "src/score.py"):
        target = build_target(entry_script=script, source_directory="src", base=project)
        assert target.entry_script == project / "src" / "score.py"
    with pytest.raises(CannotValidate, match="doesn't exist in source directory"):
        build_target(entry_script="model.pkl", source_directory="src", base=project)


def test_expect_schema_is_read_and_checked_for_known_keywords(project: Path) -> None:
    spec = "entry_script: src/score.py\nsamples: [{request: 1, expect_schema: {type: integer}}]\n"
    (sample,) = load_spec(_spec(project, spec)).samples
    assert sample.expect_schema == {"type": "integer"} and sample.has_expectation
    bad = "entry_script: src/score.py\nsamples: [{request: 1, expect_schema: {minimum: 0}}]\n"
    with pytest.raises(CannotValidate, match="sample 1"):
        load_spec(_spec(project, bad))
