"""Model names and AZUREML_MODEL_DIR paths in the script against the deployed layout."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from emulator.models.records import ModelRecord
from emulator.store.root import EmulatorRoot
from emulator.validation.model_paths import check_model_paths, deployed_paths
from emulator.validation.pipeline import register_models
from emulator.validation.static import analyse
from emulator.validation.target import ModelSource


@pytest.fixture
def one_model(tmp_path: Path) -> tuple[ModelRecord, ...]:
    (tmp_path / "model.pkl").write_bytes(b"model")
    return register_models(
        [ModelSource("sklearn-iris", tmp_path / "model.pkl")], EmulatorRoot(tmp_path / "root")
    )


@pytest.fixture
def two_models(tmp_path: Path) -> tuple[ModelRecord, ...]:
    (tmp_path / "model.pkl").write_bytes(b"model")
    (tmp_path / "encoder").mkdir()
    (tmp_path / "encoder" / "vocab.json").write_text("{}")
    return register_models(
        [
            ModelSource("sklearn-iris", tmp_path / "model.pkl", version=3),
            ModelSource("encoder", tmp_path / "encoder"),
        ],
        EmulatorRoot(tmp_path / "root"),
    )


def _check(tmp_path: Path, body: str, models: tuple[ModelRecord, ...]) -> list[tuple[str, str]]:
    script = tmp_path / "score.py"
    script.write_text(
        "import os\nfrom pathlib import Path\nfrom azureml.core.model import Model\n\n"
        + textwrap.dedent(body)
    )
    facts, _ = analyse(script, "score.py")
    return [(f.check, f.hint) for f in check_model_paths(facts, models)]


def test_layout_follows_the_number_of_models(
    one_model: tuple[ModelRecord, ...], two_models: tuple[ModelRecord, ...]
) -> None:
    assert deployed_paths(one_model) == {"model.pkl"}
    assert deployed_paths(two_models) == {
        "sklearn-iris",
        "sklearn-iris/3",
        "sklearn-iris/3/model.pkl",
        "encoder",
        "encoder/1",
        "encoder/1/encoder",
        "encoder/1/encoder/vocab.json",
    }


@pytest.mark.parametrize(
    "body",
    [
        "path = os.path.join(os.getenv('AZUREML_MODEL_DIR'), 'model.pkl')",
        "path = os.path.join(os.environ['AZUREML_MODEL_DIR'], 'model.pkl')",
        "model_dir = os.environ.get('AZUREML_MODEL_DIR')\npath = Path(model_dir) / 'model.pkl'",
        "path = f\"{os.getenv('AZUREML_MODEL_DIR')}/model.pkl\"",
        "path = Model.get_model_path('sklearn-iris')",
        "name = 'sklearn-iris'\npath = Model.get_model_path(model_name=name, version=1)",
        "path = Model.get_model_path(some_variable)",
    ],
)
def test_paths_that_match_one_deployed_model_pass(
    tmp_path: Path, one_model: tuple[ModelRecord, ...], body: str
) -> None:
    assert _check(tmp_path, body, one_model) == []


def test_joining_the_multi_model_layout_with_one_model_is_an_error(
    tmp_path: Path, one_model: tuple[ModelRecord, ...]
) -> None:
    body = "path = os.path.join(os.getenv('AZUREML_MODEL_DIR'), 'sklearn-iris', '1', 'model.pkl')"
    [(check, hint)] = _check(tmp_path, body, one_model)
    assert check == "AML021"
    assert "already is the version folder: join 'model.pkl' only" in hint


def test_a_wrong_file_name_gets_the_closest_deployed_path(
    tmp_path: Path, one_model: tuple[ModelRecord, ...]
) -> None:
    body = "path = os.path.join(os.getenv('AZUREML_MODEL_DIR'), 'model.joblib')"
    [(check, hint)] = _check(tmp_path, body, one_model)
    assert check == "AML021" and hint == "Join the deployed path 'model.pkl'."


def test_with_several_models_paths_start_with_name_and_version(
    tmp_path: Path, two_models: tuple[ModelRecord, ...]
) -> None:
    good = """
        base = os.getenv('AZUREML_MODEL_DIR')
        a = os.path.join(base, 'sklearn-iris', '3', 'model.pkl')
        b = Path(base) / 'encoder/1/encoder' / 'vocab.json'
    """
    assert _check(tmp_path, good, two_models) == []
    bad = "path = os.path.join(os.getenv('AZUREML_MODEL_DIR'), 'model.pkl')"
    [(check, hint)] = _check(tmp_path, bad, two_models)
    assert check == "AML021" and "join 'sklearn-iris/3/model.pkl'" in hint


def test_get_model_path_with_an_undeployed_name_or_version_is_an_error(
    tmp_path: Path, one_model: tuple[ModelRecord, ...]
) -> None:
    findings = _check(
        tmp_path,
        """
        a = Model.get_model_path('sklearn_iris')
        b = Model.get_model_path('sklearn-iris', version=2)
        """,
        one_model,
    )
    assert [check for check, _ in findings] == ["AML020", "AML020"]
    assert findings[0][1] == "Use 'sklearn-iris', the deployed model's name."
    assert "Drop the version argument" in findings[1][1]


def test_model_paths_without_any_deployed_model_are_errors(tmp_path: Path) -> None:
    body = "a = Model.get_model_path('m')\nb = os.path.join(os.getenv('AZUREML_MODEL_DIR'), 'x')"
    assert [check for check, _ in _check(tmp_path, body, ())] == ["AML020", "AML021"]
