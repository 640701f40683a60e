"""State raises neutral errors (code, message, HTTP status); the v1 face raises the SDK's classes.

The state layer's errors must carry what an ARM face renders (``{"error": {"code",
"message"}}`` with the status) while the v1 face keeps raising the class and message the SDK
raises today.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from emulator import Model, Webservice, Workspace
from emulator.compute.rules import validate_compute_name
from emulator.errors import (
    ComputeTargetException,
    ModelNotFoundException,
    UserErrorException,
    WebserviceException,
)
from emulator.exceptions import (
    BadArgument,
    ComputeError,
    Conflict,
    EmulatorError,
    InvalidSetting,
    ModelPathNotFound,
    NotFound,
    OperationFailed,
)
from emulator.images.builders.select import select_builder
from emulator.images.naming import validate_image_name
from emulator.models.registry import ModelRegistry
from emulator.models.resolution import resolve_local
from emulator.sdk.compute import AksCompute, ComputeTarget
from emulator.sdk.image import ContainerImage, Image
from emulator.sdk.translation import to_v1, v1_errors
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceStore

SCORING = Path(__file__).resolve().parent.parent / "fixtures" / "scoring"


@pytest.mark.parametrize(
    ("error_type", "code", "status"),
    [
        (BadArgument, "BadArgument", 400),
        (NotFound, "NotFound", 404),
        (ModelPathNotFound, "ModelNotFound", None),
        (Conflict, "Conflict", 409),
        (InvalidSetting, "InvalidConfiguration", None),
        (OperationFailed, "OperationFailed", None),
        (ComputeError, "BadArgument", 400),
    ],
)
def test_each_error_type_carries_code_message_and_status(
    error_type: type[EmulatorError], code: str, status: int | None
) -> None:
    error = error_type("It went wrong. [emulator] Do this instead.")
    assert isinstance(error, EmulatorError)
    assert (error.code, error.status) == (code, status)
    assert error.message == str(error) == "It went wrong. [emulator] Do this instead."
    assert error.to_arm() == {
        "error": {"code": code, "message": "It went wrong. [emulator] Do this instead."}
    }


def test_code_and_status_can_be_azures_finer_ones() -> None:
    error = ComputeError("Quota exceeded.", code="QuotaExceeded", status=409)
    assert (error.code, error.status) == ("QuotaExceeded", 409)
    assert error.to_arm()["error"]["code"] == "QuotaExceeded"
    assert NotFound("gone", code="ModelNotFound").status == 404


@pytest.mark.parametrize(
    ("error", "v1_type", "status_code"),
    [
        (BadArgument("bad name"), WebserviceException, None),
        (OperationFailed("did not start"), WebserviceException, None),
        (NotFound("gone", code="ModelNotFound"), WebserviceException, 404),
        (Conflict("exists"), WebserviceException, 409),
        (ModelPathNotFound("no model"), ModelNotFoundException, None),
        (InvalidSetting("AZUREML_EMULATOR_X is wrong"), UserErrorException, None),
    ],
)
def test_v1_face_picks_the_sdk_class_and_keeps_the_message(
    error: EmulatorError, v1_type: type[Exception], status_code: int | None
) -> None:
    translated = to_v1(error)
    assert type(translated) is v1_type
    assert translated.message == error.message
    assert getattr(translated, "status_code", None) == status_code


def test_compute_errors_read_as_the_resource_providers_answer() -> None:
    translated = to_v1(ComputeError("Compute name is invalid.", code="BadArgument"))
    assert type(translated) is ComputeTargetException
    assert translated.message.startswith(
        "Received bad response from Resource Provider:\nResponse Code: 400\nHeaders: "
    )
    assert translated.message.endswith(
        'Content: b\'{"error": {"code": "BadArgument", "statusCode": 400, '
        '"message": "Compute name is invalid."}}\''
    )


def test_v1_errors_translates_and_chains_the_state_error() -> None:
    state_error = Conflict("Service s already exists.")
    with (
        pytest.raises(WebserviceException, match=r"^Service s already exists\.$") as caught,
        v1_errors(),
    ):
        raise state_error
    assert caught.value.__cause__ is state_error
    with pytest.raises(KeyError), v1_errors():  # anything else passes through untouched
        raise KeyError("x")


def test_missing_local_model_is_model_not_found(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AML_APP_ROOT", raising=False)
    with pytest.raises(ModelPathNotFound) as state:
        resolve_local("absent")
    assert state.value.code == "ModelNotFound"
    with pytest.raises(ModelNotFoundException) as face:
        Model.get_model_path("absent")
    assert type(face.value) is ModelNotFoundException
    assert face.value.message == state.value.message
    assert face.value.message.startswith("Model absent not found in cache at azureml-models")


def test_model_gone_is_a_404_in_state(tmp_path: Path) -> None:
    root = EmulatorRoot(tmp_path / "root")
    workspace, _ = WorkspaceStore(root).create("sub", "rg", "ws")
    registry = ModelRegistry(root, workspace.id)
    (tmp_path / "m.pkl").write_text("w")
    record = registry.register(tmp_path / "m.pkl", "churn")
    registry.delete(record)
    with pytest.raises(NotFound) as state:
        registry.update(record, add_tags={"a": "b"})
    assert (state.value.code, state.value.status) == ("ModelNotFound", 404)
    assert state.value.message.startswith("ModelNotFound: Model with name churn")


def test_model_gone_is_a_404_webservice_exception_in_the_face(
    aml_workspace: Workspace, workdir: Path
) -> None:
    (workdir / "m.pkl").write_text("w")
    Model.register(aml_workspace, "m.pkl", "churn")
    stale = Model(aml_workspace, "churn")
    Model(aml_workspace, "churn").delete()
    with pytest.raises(WebserviceException) as face:
        stale.add_tags({"a": "b"})
    assert type(face.value) is WebserviceException
    assert face.value.status_code == 404
    assert face.value.message.startswith("ModelNotFound: Model with name churn")
    assert isinstance(face.value.__cause__, NotFound)


def test_invalid_model_name_keeps_the_sdks_message(aml_workspace: Workspace) -> None:
    with pytest.raises(WebserviceException) as face:
        Model.register(aml_workspace, "x", "-bad")
    assert type(face.value) is WebserviceException
    assert re.fullmatch(
        r"Error, provided model name is invalid\. .* Got: '-bad'", face.value.message
    )
    assert isinstance(face.value.__cause__, BadArgument)


def test_compute_rules_raise_the_resource_providers_code_and_status() -> None:
    with pytest.raises(ComputeError) as state:
        validate_compute_name("1-bad")
    assert (state.value.code, state.value.status) == ("BadArgument", 400)
    assert state.value.message.startswith("Compute name is invalid. It can include letters")
    assert state.value.message.endswith("[emulator] Got '1-bad'.")


def test_compute_create_in_the_face_keeps_the_sdks_exception_and_text(
    aml_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_PROVISIONING_SECONDS", "0.05")
    config = AksCompute.provisioning_configuration(cluster_purpose="DevTest")
    ComputeTarget.create(aml_workspace, "aks", config)
    with pytest.raises(ComputeTargetException) as face:
        ComputeTarget.create(aml_workspace, "aks", config)
    assert type(face.value) is ComputeTargetException
    assert face.value.message.startswith(
        "Received bad response from Resource Provider:\nResponse Code: 409\nHeaders: "
    )
    assert '"code": "Conflict", "statusCode": 409, "message": "Compute with name aks' in (
        face.value.message
    )
    cause = face.value.__cause__
    assert isinstance(cause, ComputeError)
    assert (cause.code, cause.status) == ("Conflict", 409)


def test_image_errors_in_state_and_in_the_face(aml_workspace: Workspace, workdir: Path) -> None:
    with pytest.raises(BadArgument) as state:
        validate_image_name("Upper")
    assert state.value.message.startswith("Error, provided image name is invalid.")
    with pytest.raises(InvalidSetting, match="Set AZUREML_EMULATOR_BUILDER to one of: local"):
        select_builder(EmulatorRoot(workdir / "root"), "nope")
    (workdir / "score.py").write_text(
        "def init():\n    pass\n\n\ndef run(data):\n    return data\n"
    )
    config = ContainerImage.image_configuration("score.py", "python")
    with pytest.raises(WebserviceException) as face:
        Image.create(aml_workspace, "Upper", [], config)
    assert type(face.value) is WebserviceException
    assert face.value.message == state.value.message


def test_a_second_service_of_the_same_name_is_a_409_conflict(
    aml_workspace: Workspace, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")
    shutil.copy(SCORING / "score_timed.py", workdir / "score_timed.py")
    config = ContainerImage.image_configuration("score_timed.py", "python")
    image = Image.create(aml_workspace, "img", [], config)
    image.wait_for_creation()
    first = Webservice.deploy_from_image(aml_workspace, "twice", image)
    try:
        with pytest.raises(WebserviceException) as face:
            Webservice.deploy_from_image(aml_workspace, "twice", image)
    finally:
        first.delete()
    assert type(face.value) is WebserviceException
    assert face.value.status_code == 409
    assert face.value.message == (
        "Service twice with the same name already exists, please use a different service name "
        "or delete the existing service. [emulator] Or pass overwrite=True to replace it."
    )
    cause = face.value.__cause__
    assert isinstance(cause, Conflict)
    assert (cause.code, cause.status) == ("Conflict", 409)
