"""The container's model layout, AZUREML_MODEL_DIR and Model.get_model_path in both modes."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from emulator import Model, Workspace
from emulator.errors import ModelNotFoundException, WebserviceException
from emulator.models import lay_out_models


def _register(ws: Workspace, workdir: Path, rel: str, name: str, files: dict[str, str]) -> Model:
    for path, text in files.items():
        target = workdir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return Model.register(ws, rel, name)


@pytest.fixture
def app_root(tmp_path: Path) -> Path:
    return tmp_path / "var" / "azureml-app"


def _tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_single_file_model(aml_workspace: Workspace, workdir: Path, app_root: Path) -> None:
    model = _register(
        aml_workspace, workdir, "outputs/model.pkl", "iris", {"outputs/model.pkl": "m"}
    )
    model_dir = lay_out_models(
        app_root, [model.emulator_record], aml_workspace.emulator_state.root.blobs
    )

    assert _tree(app_root) == ["azureml-models/iris/1/model.pkl"]
    assert model_dir == app_root / "azureml-models" / "iris" / "1"
    assert (model_dir / "model.pkl").read_text() == "m"


def test_folder_model_nests_the_folder(
    aml_workspace: Workspace, workdir: Path, app_root: Path
) -> None:
    model = _register(
        aml_workspace, workdir, "outputs", "tf", {"outputs/saved_model.pb": "g", "outputs/v/x": "v"}
    )
    model_dir = lay_out_models(
        app_root, [model.emulator_record], aml_workspace.emulator_state.root.blobs
    )
    assert _tree(app_root) == [
        "azureml-models/tf/1/outputs/saved_model.pb",
        "azureml-models/tf/1/outputs/v/x",
    ]
    assert model_dir == app_root / "azureml-models" / "tf" / "1"


def test_multi_model_dir_is_azureml_models(
    aml_workspace: Workspace, workdir: Path, app_root: Path
) -> None:
    a = _register(aml_workspace, workdir, "a.pkl", "a", {"a.pkl": "a"})
    b = _register(aml_workspace, workdir, "b", "b", {"b/w.bin": "b"})
    model_dir = lay_out_models(
        app_root, [a.emulator_record, b.emulator_record], aml_workspace.emulator_state.root.blobs
    )
    assert model_dir == app_root / "azureml-models"
    assert _tree(app_root) == ["azureml-models/a/1/a.pkl", "azureml-models/b/1/b/w.bin"]


def test_a_model_twice_in_one_deployment_is_rejected(
    aml_workspace: Workspace, workdir: Path, app_root: Path
) -> None:
    a = _register(aml_workspace, workdir, "a.pkl", "a", {"a.pkl": "a"})
    with pytest.raises(ValueError, match="a:1 is listed twice"):
        lay_out_models(
            app_root,
            [a.emulator_record, a.emulator_record],
            aml_workspace.emulator_state.root.blobs,
        )


def test_laid_out_files_are_private_copies(
    aml_workspace: Workspace, workdir: Path, app_root: Path
) -> None:
    model = _register(aml_workspace, workdir, "m.pkl", "m", {"m.pkl": "safe"})
    lay_out_models(app_root, [model.emulator_record], aml_workspace.emulator_state.root.blobs)
    laid_out = app_root / "azureml-models" / "m" / "1" / "m.pkl"
    laid_out.write_text("scoring script scribbled here")
    assert Path(model.download(workdir / "dl")).read_text() == "safe"


class TestInsideContainer:
    """AML_APP_ROOT is set, as in an Azure ML image."""

    @pytest.fixture(autouse=True)
    def container(
        self, aml_workspace: Workspace, workdir: Path, app_root: Path, monkeypatch
    ) -> None:
        models = [
            _register(aml_workspace, workdir, "model.pkl", "iris", {"model.pkl": "v1"}),
            _register(aml_workspace, workdir, "model.pkl", "iris", {"model.pkl": "v2"}),
            _register(aml_workspace, workdir, "tok", "tok", {"tok/vocab.txt": "t"}),
        ]
        lay_out_models(
            app_root, [m.emulator_record for m in models], aml_workspace.emulator_state.root.blobs
        )
        monkeypatch.setenv("AML_APP_ROOT", str(app_root))
        monkeypatch.chdir(app_root)

    def test_latest_version_and_file_shape(self, app_root: Path) -> None:
        path = Model.get_model_path("iris")
        assert path == os.path.join(str(app_root), "azureml-models", "iris", "2", "model.pkl")
        assert Path(path).read_text() == "v2"

    def test_explicit_version(self, app_root: Path) -> None:
        assert Path(Model.get_model_path("iris", version=1)).read_text() == "v1"

    def test_folder_model_returns_the_folder(self, app_root: Path) -> None:
        assert Model.get_model_path("tok") == str(app_root / "azureml-models" / "tok" / "1" / "tok")

    def test_version_must_be_an_int(self) -> None:
        with pytest.raises(WebserviceException, match="version should be an int"):
            Model.get_model_path("iris", version="1")  # type: ignore[arg-type]

    def test_missing_version_raises_webservice_exception(self) -> None:
        with pytest.raises(WebserviceException, match="Model iris not found in cache at"):
            Model.get_model_path("iris", version=7)

    def test_unknown_name_lists_models_and_closest(self) -> None:
        with pytest.raises(ModelNotFoundException) as err:
            Model.get_model_path("irs")
        assert "Model irs not found in cache at" in err.value.message
        assert "Models present: iris/1, iris/2, tok/1." in err.value.message
        assert "Did you mean 'iris'?" in err.value.message

    def test_version_dir_must_hold_one_entry(self, app_root: Path) -> None:
        (app_root / "azureml-models" / "iris" / "2" / "extra.txt").write_text("x")
        with pytest.raises(WebserviceException, match="can contain only 1 file or folder"):
            Model.get_model_path("iris")

    def test_debug_logging_explains_the_lookup(self, caplog) -> None:
        with caplog.at_level(logging.DEBUG, logger="azureml.core.model"):
            Model.get_model_path("iris")
        assert "Found model at" in caplog.text


class TestLocalProcess:
    """AML_APP_ROOT unset: the SDK looks in ./azureml-models, then ./<name>."""

    @pytest.fixture(autouse=True)
    def no_app_root(self, monkeypatch) -> None:
        monkeypatch.delenv("AML_APP_ROOT", raising=False)

    def test_relative_cache_dir(self, aml_workspace: Workspace, workdir: Path) -> None:
        model = _register(aml_workspace, workdir, "m.pkl", "m", {"m.pkl": "x"})
        lay_out_models(workdir, [model.emulator_record], aml_workspace.emulator_state.root.blobs)
        assert Model.get_model_path("m") == os.path.join("azureml-models", "m", "1", "m.pkl")

    def test_working_directory_fallback(self, workdir: Path) -> None:
        (workdir / "my-best-model").write_text("x")
        assert Model.get_model_path("my-best-model") == "my-best-model"

    def test_nothing_anywhere(self, workdir: Path) -> None:
        with pytest.raises(ModelNotFoundException) as err:
            Model.get_model_path("ghost")
        assert f"or in current working directory {workdir}" in err.value.message
        assert "No models are laid out" in err.value.message

    def test_with_a_workspace_downloads_into_the_cache(
        self, aml_workspace: Workspace, workdir: Path
    ) -> None:
        _register(aml_workspace, workdir, "src/m.pkl", "m", {"src/m.pkl": "one"})
        _register(aml_workspace, workdir, "src/m.pkl", "m", {"src/m.pkl": "two"})
        path = Model.get_model_path("m", _workspace=aml_workspace)
        assert path == os.path.join("azureml-models", "m", "2", "m.pkl")
        assert Path(path).read_text() == "two"
        assert Path(Model.get_model_path("m", version=1, _workspace=aml_workspace)).read_text() == (
            "one"
        )

    def test_with_a_workspace_unknown_model(self, aml_workspace: Workspace, workdir: Path) -> None:
        _register(aml_workspace, workdir, "m.pkl", "m", {"m.pkl": "x"})
        with pytest.raises(ModelNotFoundException, match=r"Model/Version q/None not found.*m/1"):
            Model.get_model_path("q", _workspace=aml_workspace)
