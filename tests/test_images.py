"""Image.create / Model.package end to end with the host builder (no network, fast)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from emulator import (
    CondaDependencies,
    ContainerImage,
    Environment,
    Image,
    InferenceConfig,
    Model,
    Workspace,
)
from emulator.errors import WebserviceException

ASSETS = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(autouse=True)
def host_builder(monkeypatch) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")


@pytest.fixture
def iris(aml_workspace: Workspace, workdir: Path, iris_pickle: Path) -> Model:
    shutil.copy(iris_pickle, workdir / "model.pkl")
    shutil.copy(ASSETS / "scoring" / "score_iris.py", workdir / "score.py")
    return Model.register(aml_workspace, "model.pkl", "sklearn-iris")


def _conda(workdir: Path, pip: list[str], conda: list[str] | None = None) -> str:
    spec = CondaDependencies.create(pip_packages=pip, conda_packages=conda)
    (workdir / "env.yml").write_text(spec.serialize_to_string())
    return "env.yml"


def _read_uri(uri: str) -> str:
    return Path(urlparse(uri).path).read_text()


def test_seed_style_image_builds_and_logs(
    aml_workspace: Workspace, workdir: Path, iris: Model, capsys
) -> None:
    conda = _conda(workdir, ["azureml-sdk[automl]"], ["numpy", "scikit-learn"])
    config = ContainerImage.image_configuration("score.py", "python", conda_file=conda)
    image = Image.create(aml_workspace, "iris-image", [iris], config)
    assert image.creation_state in ("Running", "Succeeded")
    image.wait_for_creation(show_output=True)
    out = capsys.readouterr().out
    assert "Step: Write build context" in out
    assert 'Image creation operation finished for image iris-image:1, operation "Succeeded"' in out

    assert image.creation_state == "Succeeded"
    assert (image.id, image.version, image.model_ids) == ("iris-image:1", 1, ["sklearn-iris:1"])
    log = _read_uri(image.image_build_log_uri)
    assert "Generated Dockerfile:" in log and "Done: Write build context" in log
    assert aml_workspace.images["iris-image"].image_build_log_uri == image.image_build_log_uri
    dockerfile = _read_uri(image.generated_dockerfile_uri)
    assert 'AZUREML_MODEL_DIR="/var/azureml-app/azureml-models/sklearn-iris/1"' in dockerfile
    app = Path(urlparse(image.generated_dockerfile_uri).path).parent / "azureml-app"
    assert (app / "score.py").is_file()
    assert (app / "azureml-models" / "sklearn-iris" / "1" / "model.pkl").is_file()
    assert "scikit-learn" in (app.parent / "environment" / "requirements.txt").read_text()


def test_versions_lookup_and_listing(aml_workspace: Workspace, workdir: Path, iris: Model) -> None:
    config = ContainerImage.image_configuration("score.py", "python")
    first = Image.create(aml_workspace, "img", [iris], config)
    first.wait_for_creation()
    second = Image.create(aml_workspace, "img", ["sklearn-iris:1"], config)
    second.wait_for_creation()
    other = Image.create(aml_workspace, "other", [], config)
    other.wait_for_creation()

    assert isinstance(Image(aml_workspace, "img"), ContainerImage)
    assert Image(aml_workspace, "img").version == 2
    assert Image(aml_workspace, id="img:1").version == 1
    assert {n: i.version for n, i in aml_workspace.images.items()} == {"img": 2, "other": 1}
    assert [i.id for i in Image.list(aml_workspace, model_name="sklearn-iris")] == [
        "img:2",
        "img:1",
    ]
    assert [i.id for i in Image.list(aml_workspace, image_name="other")] == ["other:1"]
    with pytest.raises(WebserviceException, match="ImageNotFound: Image with name nope"):
        Image(aml_workspace, "nope")
    first.delete()
    assert [i.id for i in Image.list(aml_workspace, image_name="img")] == ["img:2"]


def test_image_name_rules(aml_workspace: Workspace, workdir: Path, iris: Model) -> None:
    config = ContainerImage.image_configuration("score.py", "python")
    for bad in ("Upper", "ab", "-dash", "x" * 33):
        with pytest.raises(WebserviceException, match="provided image name is invalid"):
            Image.create(aml_workspace, bad, [iris], config)


def test_unsatisfied_requirement_fails_naming_the_package(
    aml_workspace: Workspace, workdir: Path, iris: Model, capsys
) -> None:
    conda = _conda(workdir, ["azureml-defaults", "numpy==0.0.1"])
    config = ContainerImage.image_configuration("score.py", "python", conda_file=conda)
    image = Image.create(aml_workspace, "bad-pin", [iris], config)
    with pytest.raises(WebserviceException, match="non-successful terminal state") as err:
        image.wait_for_creation(show_output=True)
    assert "numpy==0.0.1" in err.value.message
    assert image.creation_state == "Failed"
    assert image.error["code"] == "ImageBuildFailed"
    assert "More information about this error is available here: file://" in (
        capsys.readouterr().out
    )
    log_tail = "\n".join(_read_uri(image.image_build_log_uri).splitlines()[-8:])
    assert "FAILED step" in log_tail and "numpy==0.0.1" in log_tail


def test_conda_only_package_fails_the_build(
    aml_workspace: Workspace, workdir: Path, iris: Model
) -> None:
    conda = _conda(workdir, ["azureml-defaults"], ["cudatoolkit=11.8"])
    image = Image.create(
        aml_workspace,
        "cuda",
        [iris],
        ContainerImage.image_configuration("score.py", "python", conda_file=conda),
    )
    with pytest.raises(WebserviceException, match="cudatoolkit"):
        image.wait_for_creation()
    assert "conda-only" in image.error["message"]


def test_syntax_error_is_not_a_build_failure(aml_workspace: Workspace, workdir: Path) -> None:
    shutil.copy(ASSETS / "scoring" / "score_syntax_error.py", workdir / "score.py")
    image = Image.create(
        aml_workspace, "broken", [], ContainerImage.image_configuration("score.py", "python")
    )
    image.wait_for_creation()
    assert image.creation_state == "Succeeded"


def test_model_layouts_in_the_image(aml_workspace: Workspace, workdir: Path, iris: Model) -> None:
    (workdir / "vocab").mkdir()
    (workdir / "vocab" / "tokens.txt").write_text("a b c")
    vocab = Model.register(aml_workspace, "vocab", "vocab")
    config = ContainerImage.image_configuration("score.py", "python")
    cases = {"none": ([], "azureml-models"), "one": ([vocab], "azureml-models/vocab/1")}
    cases["two"] = ([iris, vocab], "azureml-models")
    for name, (models, model_dir) in cases.items():
        image = Image.create(aml_workspace, f"layout-{name}", models, config)
        image.wait_for_creation()
        context = Path(urlparse(image.generated_dockerfile_uri).path).parent
        build = json.loads((context / "build.json").read_text())
        assert build["environmentVariables"]["AZUREML_MODEL_DIR"] == f"/var/azureml-app/{model_dir}"
    app = context / "azureml-app"
    assert (app / "azureml-models" / "vocab" / "1" / "vocab" / "tokens.txt").read_text() == "a b c"
    assert (app / "azureml-models" / "sklearn-iris" / "1" / "model.pkl").is_file()


def test_inference_config_with_source_directory(aml_workspace: Workspace, workdir: Path) -> None:
    (workdir / "src" / "scoring").mkdir(parents=True)
    shutil.copy(ASSETS / "scoring" / "score_echo.py", workdir / "src" / "scoring" / "main.py")
    (workdir / "src" / "helpers.py").write_text("X = 1\n")
    env = Environment("echo-env")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["azureml-defaults"])
    config = InferenceConfig(
        entry_script="scoring/main.py", source_directory="src", environment=env
    )
    package = Model.package(aml_workspace, [], config, generate_dockerfile=True)
    package.wait_for_creation()
    assert package.state == "Succeeded"
    out = workdir / "saved"
    package.save(str(out))
    assert (out / "Dockerfile").is_file()
    assert (out / "azureml-app" / "src" / "scoring" / "main.py").is_file()
    assert (out / "azureml-app" / "src" / "helpers.py").is_file()
    build = json.loads((out / "build.json").read_text())
    assert build["environmentVariables"]["AZUREML_ENTRY_SCRIPT"] == "src/scoring/main.py"
    assert build["environmentVariables"]["AZUREML_SOURCE_DIRECTORY"] == "src"
    assert package.serialize()["generateDockerfile"] is True
    assert "package" not in {name.split("-")[0] for name in aml_workspace.images}


def test_package_requires_an_inference_config(aml_workspace: Workspace) -> None:
    with pytest.raises(WebserviceException, match="requires an InferenceConfig"):
        Model.package(aml_workspace, [], None)
