"""Imports against the declared environment, and model library versions against it."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path
from typing import Any

import pytest

from emulator.images.context import ImageRequest
from emulator.models.records import ModelRecord
from emulator.store.root import EmulatorRoot
from emulator.validation.environment import (
    EnvironmentFacts,
    build_environment,
    import_findings,
    probe_environment,
    version_findings,
)
from emulator.validation.pipeline import register_models
from emulator.validation.static import analyse
from emulator.validation.target import CannotValidate, ModelSource, environment_from

IMPORTS = """
    import json
    import numpy
    import requests
    import not_a_real_module_anywhere
    from helpers import tokenize
    from azureml.core.model import Model
    try:
        import another_missing_module
    except ImportError:
        another_missing_module = None

    def init():
        pass

    def run(data):
        return data
"""


def _imports(tmp_path: Path, environment: Any, mode: str = "auto") -> tuple[str, list[str]]:
    """Build ``environment`` for a script with IMPORTS; returns the mode and the findings."""
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    (source / "helpers.py").write_text("def tokenize(text):\n    return text.split()\n")
    (source / "score.py").write_text(textwrap.dedent(IMPORTS))
    facts, _ = analyse(source / "score.py", "score.py")
    request = ImageRequest(
        entry_script=(source / "score.py").resolve(),
        environment=environment_from(environment, tmp_path),
        source_directory=source.resolve(),
    )
    root = EmulatorRoot(tmp_path / "root")
    env = build_environment(request, tmp_path / f"work-{mode}", root, root.blobs, mode)
    found = probe_environment(env, (ref.top for ref in facts.imports), ())
    return env.mode, [f.message for f in import_findings(facts, env, found)]


def test_imports_are_held_to_the_declared_packages_and_their_dependencies(
    tmp_path: Path,
) -> None:
    mode, messages = _imports(tmp_path, ["scikit-learn"])
    assert mode == "host"  # this interpreter satisfies the environment: nothing is installed
    assert messages == [
        "import requests: module 'requests' is installed on this machine but no declared "
        "package (or dependency of one) provides it",
        "import not_a_real_module_anywhere: module 'not_a_real_module_anywhere' is not "
        "installed in the environment",
    ]  # numpy comes with scikit-learn, helpers from the source directory, azureml from the
    #    emulator, and the guarded import is optional


def test_declaring_the_package_resolves_the_import(tmp_path: Path) -> None:
    _, messages = _imports(tmp_path, ["scikit-learn", "requests"])
    assert messages == [
        "import not_a_real_module_anywhere: module 'not_a_real_module_anywhere' is not "
        "installed in the environment"
    ]


def test_without_a_declared_environment_this_interpreters_packages_count(
    tmp_path: Path,
) -> None:
    _, messages = _imports(tmp_path, None)
    assert len(messages) == 1 and "not_a_real_module_anywhere" in messages[0]


@pytest.mark.slow
def test_a_virtualenv_has_only_what_is_declared(tmp_path: Path) -> None:
    mode, messages = _imports(tmp_path, ["requests"], mode="venv")
    assert mode == "venv"
    assert [m.split(":")[0] for m in messages] == [
        "import numpy",
        "import not_a_real_module_anywhere",
    ]


def test_an_environment_that_cannot_be_built_stops_validation(tmp_path: Path) -> None:
    with pytest.raises(CannotValidate) as failure:
        _imports(tmp_path, {"dependencies": ["mkl", {"pip": ["numpy"]}]})
    assert str(failure.value).startswith("The environment cannot be built (Resolve requirements)")
    assert "mkl is a conda-only package" in str(failure.value)


def _model(tmp_path: Path, state: object) -> ModelRecord:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(state))
    [record] = register_models([ModelSource("m", path)], EmulatorRoot(tmp_path / "root"))
    return record


def test_a_model_pickled_with_another_scikit_learn_is_a_warning(tmp_path: Path) -> None:
    record = _model(tmp_path, {"_sklearn_version": "0.24.2", "coef_": [1.0]})
    [warning] = version_findings([record], EnvironmentFacts(versions={"scikit-learn": "1.5.2"}))
    assert warning.check == "AML060"
    assert warning.message == (
        "model m:1 was pickled with scikit-learn 0.24.2; the environment has 1.5.2"
    )
    assert warning.hint.startswith("Pin scikit-learn==0.24.2 in the environment")


def test_a_model_pickled_with_the_environments_scikit_learn_passes(tmp_path: Path) -> None:
    record = _model(tmp_path, {"_sklearn_version": "1.5.2"})
    assert version_findings([record], EnvironmentFacts(versions={"scikit-learn": "1.5.2"})) == []
