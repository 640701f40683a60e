"""``azureml.accel.models`` through the shim, as a Brainwave notebook imports it: the module
imports, each featurizer takes azureml-accel-models 1.62's constructor parameters and then
refuses with the SDK's ``UserErrorException`` in one line naming its weights download; and
``import azureml.accel`` works without grpcio, which only the gRPC client needs.

The expected signatures and download links are read from azureml-accel-models 1.62.0's
source (``pip install --no-deps azureml-accel-models==1.62.0``, ``azureml/accel/models/``).
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator import shim

#: Class → (takes ``custom_weights_directory``, the link its constructor downloads).
FEATURIZERS = {
    "Resnet50": (False, "https://go.microsoft.com/fwlink/?linkid=2025071"),
    "QuantizedResnet50": (True, "https://go.microsoft.com/fwlink/?linkid=2025081"),
    "Resnet152": (False, "https://go.microsoft.com/fwlink/?linkid=2018638"),
    "QuantizedResnet152": (True, "https://go.microsoft.com/fwlink/?linkid=2025067"),
    "Vgg16": (False, "https://go.microsoft.com/fwlink/?linkid=2020212"),
    "QuantizedVgg16": (True, "https://go.microsoft.com/fwlink/?linkid=2020300"),
    "Densenet121": (False, "https://go.microsoft.com/fwlink/?linkid=2025085"),
    "QuantizedDensenet121": (True, "https://go.microsoft.com/fwlink/?linkid=2025129"),
    "SsdVgg": (False, "https://go.microsoft.com/fwlink/?linkid=2086501"),
    "QuantizedSsdVgg": (True, "https://go.microsoft.com/fwlink/?linkid=2086713"),
}


@pytest.fixture
def accel_models() -> Iterator[Any]:
    """``azureml.accel.models`` imported through an active shim."""
    shim.activate()
    try:
        import azureml.accel.models

        yield azureml.accel.models
    finally:
        shim.deactivate()


def test_module_exports_the_sdk_names(accel_models: Any) -> None:
    assert sorted(accel_models.__all__) == sorted([*FEATURIZERS, "preprocess_array"])


@pytest.mark.parametrize("name", sorted(FEATURIZERS))
def test_featurizer_refuses_offline_in_one_line(
    accel_models: Any, name: str, tmp_path: Path
) -> None:
    from azureml.exceptions import UserErrorException

    quantized, link = FEATURIZERS[name]
    featurizer = getattr(accel_models, name)
    expected = ["model_base_path", "is_frozen"] + (
        ["custom_weights_directory"] if quantized else []
    )
    parameters = inspect.signature(featurizer).parameters
    assert list(parameters) == expected
    assert parameters["is_frozen"].default is False
    keywords: dict[str, Any] = {"model_base_path": str(tmp_path), "is_frozen": True}
    if quantized:
        keywords["custom_weights_directory"] = str(tmp_path / "retrained")
    with pytest.raises(UserErrorException) as caught:
        featurizer(**keywords)
    message = str(caught.value)
    assert "\n" not in message
    assert f"{name} cannot run offline" in message
    assert link in message
    assert str(tmp_path) in message
    assert "AccelOnnxConverter" in message
    assert list(tmp_path.iterdir()) == []  # nothing downloaded, nothing half-made


def test_float_featurizer_rejects_custom_weights_as_the_sdk_does(
    accel_models: Any, tmp_path: Path
) -> None:
    with pytest.raises(TypeError, match="custom_weights_directory"):
        accel_models.Resnet50(str(tmp_path), custom_weights_directory=str(tmp_path))


def test_preprocess_array_checks_order_then_refuses(accel_models: Any) -> None:
    from azureml.exceptions import UserErrorException

    with pytest.raises(ValueError, match="RGB or BGR"):
        accel_models.preprocess_array(None, order="GBR")
    with pytest.raises(UserErrorException, match="preprocess_array cannot run offline"):
        accel_models.preprocess_array(None, order="BGR", output_height=300, output_width=300)


_WITHOUT_GRPC = """
import sys

sys.modules["grpc"] = None  # grpcio not installed
from emulator import shim

shim.activate()
import azureml.accel
from azureml.accel import AccelContainerImage, AccelOnnxConverter
from azureml.accel.models import QuantizedResnet50
import azureml.accel.client

print("imported", AccelContainerImage.__name__, AccelOnnxConverter.__name__)
try:
    QuantizedResnet50(model_base_path="/tmp/featurizers")
except Exception as exc:
    print("featurizer:", type(exc).__name__)
try:
    from azureml.accel import PredictionClient
except ImportError as exc:
    print("client:", exc)
try:
    azureml.accel.client.client_from_service
except ImportError as exc:
    print("client_from_service:", exc)
"""


def test_import_azureml_accel_needs_no_grpcio_until_the_client_is_used() -> None:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_WITHOUT_GRPC)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "imported AccelContainerImage AccelOnnxConverter"
    assert lines[1] == "featurizer: UserErrorException"
    labels = {"client": "PredictionClient", "client_from_service": "client_from_service"}
    for line, (label, name) in zip(lines[2:], labels.items(), strict=True):
        assert line.startswith(f"{label}: azureml.accel.{name} needs grpcio")
        assert "pip install 'azureml-emulator[accel]'" in line


def test_an_images_azureml_accel_needs_no_grpcio_either(tmp_path: Path) -> None:
    """Inside an image (no shim: generated ``azureml`` modules) a scoring script importing
    ``azureml.accel`` or its featurizers runs where grpcio is not installed."""
    from emulator.images.compat import write_python_tree

    write_python_tree(tmp_path / "tree")
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_WITHOUT_GRPC).replace("shim.activate()", "")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "tree"), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [
        "imported AccelContainerImage AccelOnnxConverter",
        "featurizer: UserErrorException",
    ]
    assert "client: azureml.accel.PredictionClient needs grpcio" in result.stdout
