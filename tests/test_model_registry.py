"""Model.register, lookup, listing, tags and deletion through the SDK face."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from emulator import Model, Workspace
from emulator.errors import UserErrorException, WebserviceException


def _write(path: Path, text: str = "weights") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_file_model_versions_increment_per_name(aml_workspace: Workspace, workdir: Path) -> None:
    _write(workdir / "outputs" / "model.pkl", "v1")
    first = Model.register(aml_workspace, "outputs/model.pkl", "churn", tags={"area": "crm"})
    _write(workdir / "outputs" / "model.pkl", "v2")
    second = Model.register(aml_workspace, "outputs/model.pkl", "churn")
    other = Model.register(aml_workspace, "outputs/model.pkl", "fraud")

    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert second.id == "churn:2"
    assert first.tags == {"area": "crm"}
    assert first.url.startswith("aml://asset/")
    assert Model(aml_workspace, "churn").version == 2
    assert Model(aml_workspace, id="churn:1").tags == {"area": "crm"}
    assert set(aml_workspace.models) == {"churn", "fraud"}
    assert aml_workspace.models["churn"].version == 2


def test_registration_copies_content(aml_workspace: Workspace, workdir: Path) -> None:
    source = _write(workdir / "model.bin", "original")
    model = Model.register(aml_workspace, "model.bin", "copied")
    source.write_text("changed after registration")
    path = model.download(workdir / "out")
    assert Path(path).read_text() == "original"


def test_folder_model_keeps_its_folder_name(aml_workspace: Workspace, workdir: Path) -> None:
    _write(workdir / "outputs" / "saved" / "weights.bin", "w")
    _write(workdir / "outputs" / "saved" / "vocab" / "tokens.txt", "t")
    model = Model.register(aml_workspace, "outputs/saved", "bert")

    target = workdir / "download"
    path = Path(model.download(target))
    assert path == target / "saved"
    assert (path / "weights.bin").read_text() == "w"
    assert (path / "vocab" / "tokens.txt").read_text() == "t"


def test_child_paths_register_only_listed_children(aml_workspace: Workspace, workdir: Path) -> None:
    _write(workdir / "run" / "model.pkl")
    _write(workdir / "run" / "logs" / "huge.log")
    model = Model.register(aml_workspace, "run", "partial", child_paths=["model.pkl"])
    assert [f.path for f in model.emulator_record.files] == ["run/model.pkl"]
    with pytest.raises(WebserviceException, match=r'child path "missing\.pkl" cannot be found'):
        Model.register(aml_workspace, "run", "partial", child_paths=["missing.pkl"])


def test_download_refuses_to_overwrite_unless_exist_ok(
    aml_workspace: Workspace, workdir: Path
) -> None:
    _write(workdir / "m.pkl", "registered")
    model = Model.register(aml_workspace, "m.pkl", "m")
    _write(workdir / "out" / "m.pkl", "local edit")
    with pytest.raises(WebserviceException, match=r"File already exists\. To overwrite"):
        model.download(workdir / "out")
    assert (workdir / "out" / "m.pkl").read_text() == "local edit"
    model.download(workdir / "out", exist_ok=True)
    assert (workdir / "out" / "m.pkl").read_text() == "registered"


@pytest.mark.parametrize("name", ["a", "Model-1", "my.model_v2", "9lives", "x" * 255])
def test_valid_model_names(aml_workspace: Workspace, workdir: Path, name: str) -> None:
    _write(workdir / "m.pkl")
    assert Model.register(aml_workspace, "m.pkl", name).name == name


@pytest.mark.parametrize(
    "name", ["", "-leading-dash", "_under", "has space", "slash/name", "x" * 256]
)
def test_invalid_model_names_use_the_sdk_message(
    aml_workspace: Workspace, workdir: Path, name: str
) -> None:
    _write(workdir / "m.pkl")
    with pytest.raises(WebserviceException, match="provided model name is invalid"):
        Model.register(aml_workspace, "m.pkl", name)
    assert Model.list(aml_workspace) == []


def test_path_rules(aml_workspace: Workspace, workdir: Path, tmp_path_factory) -> None:
    with pytest.raises(FileNotFoundError, match="Path does not exist"):
        Model.register(aml_workspace, "nope.pkl", "m")
    outside = tmp_path_factory.mktemp("elsewhere") / "m.pkl"
    outside.write_text("x")
    with pytest.raises(PermissionError, match="Path outside current working directory"):
        Model.register(aml_workspace, str(outside), "m")
    (workdir / "empty").mkdir()
    with pytest.raises(WebserviceException, match="contains no files"):
        Model.register(aml_workspace, "empty", "m")
    assert Model.list(aml_workspace) == []


def test_argument_validation(aml_workspace: Workspace, workdir: Path) -> None:
    _write(workdir / "m.pkl")
    with pytest.raises(WebserviceException, match="framework version cannot be provided"):
        Model.register(aml_workspace, "m.pkl", "m", model_framework_version="1.0")
    with pytest.raises(WebserviceException, match="Tags must be a dict"):
        Model.register(aml_workspace, "m.pkl", "m", tags=["a"])  # type: ignore[arg-type]
    with pytest.raises(UserErrorException, match="between 20 and 255"):
        Model.list(aml_workspace, page_count=5)


def test_list_filters_use_the_sdk_forms(aml_workspace: Workspace, workdir: Path) -> None:
    _write(workdir / "m.pkl")
    Model.register(aml_workspace, "m.pkl", "a", tags={"area": "auto", "type": "regression"})
    Model.register(aml_workspace, "m.pkl", "a", tags={"area": "auto"})
    Model.register(
        aml_workspace,
        "m.pkl",
        "b",
        tags={"area": "vision"},
        properties={"auc": "0.9"},
        model_framework=Model.Framework.SCIKITLEARN,
        model_framework_version="1.5",
    )

    ids = lambda models: [m.id for m in models]  # noqa: E731
    assert ids(Model.list(aml_workspace)) == ["a:2", "a:1", "b:1"]
    assert ids(Model.list(aml_workspace, latest=True)) == ["a:2", "b:1"]
    assert ids(Model.list(aml_workspace, tags=["type"])) == ["a:1"]
    assert ids(Model.list(aml_workspace, tags=[["area", "auto"]])) == ["a:2", "a:1"]
    assert ids(Model.list(aml_workspace, properties=[["auc", "0.9"]])) == ["b:1"]
    assert ids(Model.list(aml_workspace, model_framework="ScikitLearn")) == ["b:1"]
    assert ids(Model.list(aml_workspace, name="b")) == ["b:1"]
    assert Model(aml_workspace, "a", tags=["type"]).version == 1


def test_lookup_failure_names_the_filters_and_suggests(
    aml_workspace: Workspace, workdir: Path
) -> None:
    _write(workdir / "m.pkl")
    Model.register(aml_workspace, "m.pkl", "sklearn-iris")
    with pytest.raises(WebserviceException) as err:
        Model(aml_workspace, "sklearn-irs", version=3)
    assert "ModelNotFound: Model with name sklearn-irs, version 3 not found" in err.value.message
    assert "Did you mean 'sklearn-iris'?" in err.value.message
    with pytest.raises(WebserviceException, match="one of id or name"):
        Model(aml_workspace)


def test_tags_and_immutable_properties(aml_workspace: Workspace, workdir: Path) -> None:
    _write(workdir / "m.pkl")
    model = Model.register(aml_workspace, "m.pkl", "m", properties={"auc": "0.9"})
    model.add_tags({"stage": "dev"})
    model.remove_tags(["stage"])
    model.add_tags({"owner": "me"})
    model.add_properties({"f1": "0.8"})
    with pytest.raises(WebserviceException, match=r"properties are immutable.*auc"):
        model.add_properties({"auc": "1.0"})
    reloaded = Model(aml_workspace, "m")
    assert reloaded.tags == {"owner": "me"}
    assert reloaded.properties == {"auc": "0.9", "f1": "0.8"}
    model.update(tags={"only": "this"}, description="new")
    assert Model(aml_workspace, "m").tags == {"only": "this"}
    assert Model(aml_workspace, "m").description == "new"


def test_delete_never_reuses_a_version(aml_workspace: Workspace, workdir: Path) -> None:
    _write(workdir / "m.pkl")
    Model.register(aml_workspace, "m.pkl", "m")
    latest = Model.register(aml_workspace, "m.pkl", "m")
    latest.delete()
    assert [m.id for m in Model.list(aml_workspace)] == ["m:1"]
    assert Model.register(aml_workspace, "m.pkl", "m").version == 3


def test_delete_frees_blobs_only_when_unreferenced(aml_workspace: Workspace, workdir: Path) -> None:
    _write(workdir / "m.pkl", "shared content")
    first = Model.register(aml_workspace, "m.pkl", "one")
    Model.register(aml_workspace, "m.pkl", "two")
    first.delete()
    assert Path(Model(aml_workspace, "two").download(workdir / "out")).read_text() == (
        "shared content"
    )


def test_serialize_round_trip(aml_workspace: Workspace, workdir: Path) -> None:
    _write(workdir / "m.pkl")
    model = Model.register(aml_workspace, "m.pkl", "m", description="d", tags={"k": "v"})
    payload = model.serialize()
    assert payload["id"] == "m:1" and payload["tags"] == {"k": "v"}
    assert Model.deserialize(aml_workspace, payload) == model


def test_records_versions_of_the_libraries_that_pickled_the_model(
    aml_workspace: Workspace, workdir: Path, iris_pickle: Path
) -> None:
    import numpy
    import sklearn

    shutil.copy(iris_pickle, workdir / "model.pkl")
    model = Model.register(aml_workspace, "model.pkl", "iris")
    assert model.library_versions["scikit-learn"] == sklearn.__version__
    assert model.library_versions["numpy"] == numpy.__version__


def test_workspaces_keep_models_apart(aml_workspace: Workspace, workdir: Path) -> None:
    _write(workdir / "m.pkl")
    Model.register(aml_workspace, "m.pkl", "m")
    other = Workspace.create("other", subscription_id="s", resource_group="rg", show_output=False)
    assert Model.list(other) == []
    assert Model.register(other, "m.pkl", "m").version == 1
