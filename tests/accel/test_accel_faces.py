"""``azureml.accel`` through the shim: conversion requests, converted models, accel images."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from accel_models import mlp

from emulator import Image, Model, Workspace
from emulator.errors import WebserviceException


@pytest.fixture
def iris_model(aml_workspace: Workspace, workdir: Path, iris_pickle: Path) -> Model:
    shutil.copy(iris_pickle, workdir / "model.pkl")
    return Model.register(aml_workspace, "model.pkl", "sklearn-iris")


def test_sdk_import_paths() -> None:
    import emulator
    from emulator.sdk import prediction_client as client

    with emulator.mock_aml():
        from azureml.accel import AccelContainerImage, AccelOnnxConverter, PredictionClient
        from azureml.accel.client import PredictionClient as Client2
        from azureml.accel.client import client_from_service

        assert PredictionClient is Client2 is client.PredictionClient
        assert client_from_service is client.client_from_service
        assert AccelOnnxConverter.convert_tf_model and AccelContainerImage.image_configuration


def test_convert_registers_the_converted_model(
    aml_workspace: Workspace, iris_model: Model, capsys
) -> None:
    from azureml.accel import AccelOnnxConverter

    request = AccelOnnxConverter.convert_tf_model(
        aml_workspace, iris_model, "images", "probabilities"
    )
    request.wait_for_completion(show_output=True)
    assert "Succeeded" in capsys.readouterr().out
    converted = request.result
    assert request.status == "Succeeded" and converted is not None
    assert (converted.name, converted.version) == ("sklearn-iris.1.accelonnx", 1)
    assert converted.id == "sklearn-iris.1.accelonnx:1"
    assert converted.url.startswith("aml://asset/") and converted.created_time
    assert converted.model_framework == Model.Framework.ONNX
    assert converted.properties["conversion.parity"] == "passed"
    assert converted.properties["sourceModelId"] == "sklearn-iris:1"
    assert Model(aml_workspace, name="sklearn-iris.1.accelonnx").id == converted.id

    onnx_path = Path(converted.download(target_dir="dl"))
    model = onnx.load(str(onnx_path))
    assert [i.name for i in model.graph.input] == ["images"]
    assert [o.name for o in model.graph.output] == ["probabilities"]


def test_conversion_with_a_wrong_node_fails_with_the_real_names(
    aml_workspace: Workspace, iris_model: Model, capsys
) -> None:
    from azureml.accel import AccelOnnxConverter

    request = AccelOnnxConverter.convert_tf_model(aml_workspace, iris_model, "images", "softmax:0")
    with pytest.raises(WebserviceException, match="Known output nodes: 'label', 'probabilities'"):
        request.wait_for_completion(show_output=True)
    assert request.status == "Failed" and request.result is None
    assert "Model convert failed" in capsys.readouterr().out
    with pytest.raises(WebserviceException, match="choose one of"):
        AccelOnnxConverter.convert_tf_model(aml_workspace, iris_model, "x", "y", precision="fp2")


def test_accel_image_serves_the_converted_model(
    aml_workspace: Workspace, workdir: Path, monkeypatch
) -> None:
    from azureml.accel import AccelContainerImage, AccelOnnxConverter

    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")
    onnx.save(mlp(), str(workdir / "mlp.onnx"))
    source = Model.register(aml_workspace, "mlp.onnx", "mlp", model_framework="Onnx")
    request = AccelOnnxConverter.convert_tf_model(
        aml_workspace, source, "images", ["probs"], precision="int8"
    )
    request.wait_for_completion()
    converted = request.result
    assert converted.properties["conversion.precision"] == "int8"
    assert float(converted.properties["conversion.precision.bound"]) > 0

    config = AccelContainerImage.image_configuration(description="fpga stand-in")
    image = Image.create(aml_workspace, "mlp-accel", [converted], config)
    image.wait_for_creation()
    assert image.creation_state == "Succeeded"
    assert isinstance(image, AccelContainerImage) and image.image_flavor == "AccelContainer"
    again = Image(aml_workspace, name="mlp-accel")
    assert isinstance(again, AccelContainerImage) and again.description == "fpga stand-in"
    with pytest.raises(NotImplementedError, match=r"Can't run accel images locally\."):
        again.run()

    context = Path(image.generated_dockerfile_uri.removeprefix("file://")).parent
    build = json.loads((context / "build.json").read_text())
    assert build["entryScript"] == "score_onnx.py"
    pip = " ".join(build["environment"]["python"]["condaDependencies"]["dependencies"][-1]["pip"])
    assert "onnxruntime" in pip and "grpcio" in pip

    with pytest.raises(ValueError, match="Cannot create accelcontainer image without model"):
        Image.create(aml_workspace, "empty-accel", [], config)
    with pytest.raises(WebserviceException, match=r"has no \.onnx file"):
        shutil.copy(workdir / "mlp.onnx", workdir / "weights.bin")
        raw = Model.register(aml_workspace, "weights.bin", "raw")
        Image.create(aml_workspace, "raw-accel", [raw], config)


def test_entry_script_scores_json(tmp_path: Path, monkeypatch) -> None:
    from emulator.accel import score_onnx

    version_dir = tmp_path / "azureml-models" / "mlp" / "1"
    version_dir.mkdir(parents=True)
    onnx.save(mlp(), str(version_dir / "mlp.onnx"))
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(version_dir))
    monkeypatch.setattr(score_onnx, "model", None)
    score_onnx.init()
    answer = score_onnx.run(json.dumps({"data": [[0.0] * 8], "output_filter": ["probs"]}))
    assert np.asarray(answer["outputs"]).shape == (1, 3)
    error = score_onnx.run('{"data": [[0.0]]}')
    assert error.status_code == 400 and "dimension 1 must be 8" in error.get_data(as_text=True)
