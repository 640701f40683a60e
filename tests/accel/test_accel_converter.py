"""Conversion to ONNX: pass-through, scikit-learn with parity, node names, TensorFlow, precision."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import joblib
import numpy as np
import onnx
import pytest
from accel_models import mlp
from onnx import numpy_helper

from emulator.accel import converter, parity, precision, samples
from emulator.accel.converter import ConversionError, ParityError, convert
from emulator.accel.graph import NodeNameError
from emulator.accel.session import OnnxModel
from emulator.accel.tf_conversion import MissingConverterError


def _tampered(model: onnx.ModelProto, factor: float = 1.5) -> onnx.ModelProto:
    """The same graph with its weights scaled: a conversion gone wrong."""
    broken = onnx.ModelProto()
    broken.CopyFrom(model)
    for node in broken.graph.node:  # ONNX-ML operators keep weights in attributes
        for attribute in node.attribute:
            if attribute.name == "coefficients":
                scaled = [v * factor for v in attribute.floats]
                del attribute.floats[:]
                attribute.floats.extend(scaled)
                return broken
    for init in broken.graph.initializer:
        weights = numpy_helper.to_array(init)
        if weights.dtype == np.float32 and weights.size > 1:
            init.CopyFrom(numpy_helper.from_array(weights * factor, init.name))
            return broken
    raise AssertionError("no weights to tamper with")


def test_onnx_passes_through_checked(tmp_path: Path) -> None:
    path = tmp_path / "mlp.onnx"
    onnx.save(mlp(), str(path))
    result = convert(path)
    assert result.source_kind == "onnx"
    assert result.input_names == ("images",)
    assert result.output_names == ("probs", "logits")
    assert result.parity is None and result.precision_report is None

    broken = mlp()
    broken.graph.node[0].input[1] = "no_such_weight"
    with pytest.raises(ConversionError, match="not a valid ONNX model"):
        convert(broken)


def test_sklearn_pickle_converts_with_parity(tmp_path: Path, iris_estimator) -> None:
    joblib.dump(iris_estimator, tmp_path / "model.pkl")
    result = convert(tmp_path / "model.pkl", "images")
    report = result.parity
    assert report is not None and report.passed
    assert report.samples == samples.DEFAULT_SAMPLES
    assert report.compared == ("label", "probabilities")
    assert report.max_abs_diff <= report.atol
    assert report.label_mismatches == 0
    assert "Parity passed" in result.summary() and "max abs diff" in result.summary()
    assert result.input_names == ("images",)
    assert result.properties()["conversion.parity"] == "passed"

    features = np.random.default_rng(3).uniform(0, 8, (20, 4)).astype(np.float32)
    probs = OnnxModel.load(result.model).run({"images": features})["probabilities"]
    np.testing.assert_allclose(probs, iris_estimator.predict_proba(features), atol=1e-5)


def test_broken_conversion_is_caught(iris_estimator, monkeypatch) -> None:
    good = converter.sklearn_to_onnx(iris_estimator, "images")
    report = parity.check_sklearn_parity(iris_estimator, OnnxModel.load(_tampered(good)))
    assert not report.passed
    assert report.max_abs_diff > report.atol
    assert "out of tolerance" in report.detail

    monkeypatch.setattr(converter, "sklearn_to_onnx", lambda est, name: _tampered(good))
    with pytest.raises(ParityError, match="does not match the original") as caught:
        convert(iris_estimator, "images")
    assert not caught.value.report.passed
    assert "Parity FAILED" in str(caught.value)


def test_node_name_errors_list_the_real_names_and_the_closest() -> None:
    with pytest.raises(NodeNameError) as caught:
        convert(mlp(), "image", "probs")
    message = str(caught.value)
    assert "'image'" in message and "Known input nodes: 'images'" in message
    assert "Closest match: 'images'" in message

    with pytest.raises(NodeNameError, match=r"Known output nodes: 'probs', 'logits'.*'probs'"):
        convert(mlp(), "images", "prob")


def test_node_names_select_and_cut_the_graph() -> None:
    tf_style = convert(mlp(), "images:0", ["probs:0"])
    assert tf_style.input_names == ("images",) and tf_style.output_names == ("probs",)

    cut = convert(mlp(), "images", "hidden")  # an intermediate value: the graph is cut there
    assert cut.output_names == ("hidden",)
    by_node = convert(mlp(), "images", "relu1")  # a node's name means its single output
    assert by_node.output_names == ("hidden",)
    features = np.ones((2, 8), dtype=np.float32)
    assert OnnxModel.load(cut.model).run({"images": features})["hidden"].shape == (2, 32)


def test_sklearn_output_names_are_checked(iris_estimator) -> None:
    with pytest.raises(NodeNameError, match=r"'label', 'probabilities'.*Closest match: 'label'"):
        convert(iris_estimator, "images", "labels")
    assert convert(iris_estimator, "images", "probabilities").output_names == ("probabilities",)


def test_tensorflow_without_tf2onnx_says_what_to_install(tmp_path: Path, monkeypatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object):
        return None if name in ("tf2onnx", "tensorflow") else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    saved_model = tmp_path / "featurizer"
    (saved_model / "variables").mkdir(parents=True)
    (saved_model / "saved_model.pb").write_bytes(b"\x08\x01")
    with pytest.raises(MissingConverterError, match=r"needs tf2onnx and tensorflow.*pip install"):
        convert(saved_model, "images", "logits")
    with pytest.raises(ConversionError, match="pip install tf2onnx tensorflow"):
        convert(tmp_path / "featurizer" / "saved_model.pb")


def test_unknown_files_and_precisions_are_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ConversionError, match="Cannot tell what kind of model"):
        convert(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="choose one of: exact, int8, bfp"):
        convert(mlp(), precision="fp4")


def test_int8_changes_results_within_the_reported_bound() -> None:
    result = convert(mlp(), precision="int8")
    report = result.precision_report
    assert report is not None and report.changed > 0
    assert report.bound > 0 and 0 < report.max_rel_diff < 0.1  # small against the output range
    assert result.properties()["conversion.precision"] == "int8"
    quantized = {"MatMulInteger", "DynamicQuantizeMatMul"}
    assert any(node.op_type in quantized for node in result.model.graph.node)

    exact, reduced = OnnxModel.load(mlp()), OnnxModel.load(result.model)
    feeds = samples.for_model(exact, count=samples.DEFAULT_SAMPLES)
    assert feeds is not None
    diff = np.abs(exact.run(feeds)["logits"] - reduced.run(feeds)["logits"])
    assert 0 < diff.max() <= report.bound + 1e-6
    assert "Precision int8" in result.summary()


def test_bfp_rounds_weights_to_shared_exponent_blocks() -> None:
    values = np.array([[1.0, 0.3, -0.7, 0.01, 5.0, 0.2, 0.1, -0.05]])
    rounded = precision.block_float(values, mantissa_bits=3, block_size=4)
    # block 1: largest 1.0 → step 2^(0+1-3) = 0.25; block 2: largest 5.0 → step 2^(2+1-3) = 1
    np.testing.assert_allclose(rounded, [[1.0, 0.25, -0.75, 0.0, 5.0, 0.0, 0.0, -0.0]])

    result = convert(mlp(), precision="bfp")
    report = result.precision_report
    assert report is not None and report.changed == 2 and report.bound > 0


def test_precision_on_a_model_without_matmuls_says_nothing_changed(iris_estimator) -> None:
    report = convert(iris_estimator, precision="int8").precision_report
    assert report is not None
    assert report.changed == 0 and report.bound == 0.0
    assert "Nothing in this model is affected" in report.note
