"""Converting a model to the ONNX that the accelerated stand-in serves.

* ONNX passes through, validated with ``onnx.checker``;
* scikit-learn (a joblib/pickle file, or an estimator object) is converted with ``skl2onnx``
  and then checked for numeric parity against the original on generated inputs — a conversion
  that changed the model raises ``ParityError`` with the report;
* TensorFlow goes through ``tf2onnx`` when it is installed (see ``tf_conversion``).

Input/output node names are then checked against the graph (``graph.select``) and the
``precision`` option applies the accelerator's reduced arithmetic (``precision.reduce``),
reporting how far results move from the exact model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from emulator.accel import graph, parity, samples, sources
from emulator.accel.errors import ConversionError
from emulator.accel.parity import ParityReport
from emulator.accel.precision import PrecisionReport, check_precision, deviation, reduce
from emulator.accel.session import OnnxModel
from emulator.accel.tf_conversion import convert_tensorflow

NodeNames = str | Sequence[str] | None


class ParityError(ConversionError):
    """The converted model does not compute what the original computes."""

    def __init__(self, report: ParityReport) -> None:
        super().__init__(
            f"The converted ONNX model does not match the original: {report.summary()}. "
            "[emulator] The conversion changed the model; check the skl2onnx version supports "
            "this estimator and its options, or convert to ONNX yourself and register the "
            ".onnx file."
        )
        self.report = report


@dataclass(frozen=True)
class ConversionResult:
    """The converted model and what was checked on the way."""

    model: onnx.ModelProto
    source_kind: str
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    precision: str
    parity: ParityReport | None
    precision_report: PrecisionReport | None

    def serialized(self) -> bytes:
        return self.model.SerializeToString()

    def save(self, path: str | os.PathLike[str]) -> Path:
        target = Path(path)
        target.write_bytes(self.serialized())
        return target

    def summary(self) -> str:
        lines = [
            f"Converted the {self.source_kind} model to ONNX (opset "
            f"{_default_opset(self.model)}); inputs: {', '.join(self.input_names)}; outputs: "
            f"{', '.join(self.output_names)}"
        ]
        if self.parity is not None:
            lines.append(self.parity.summary())
        if self.precision_report is not None:
            lines.append(self.precision_report.summary())
        return "\n".join(lines)

    def properties(self) -> dict[str, str]:
        """String properties that describe the conversion (for the registered model)."""
        props = {
            "conversion.source": self.source_kind,
            "conversion.inputs": ",".join(self.input_names),
            "conversion.outputs": ",".join(self.output_names),
            "conversion.precision": self.precision,
        }
        if self.parity is not None:
            props["conversion.parity"] = "passed" if self.parity.passed else "failed"
            props["conversion.parity.max_abs_diff"] = f"{self.parity.max_abs_diff:.6g}"
        if self.precision_report is not None:
            props["conversion.precision.bound"] = f"{self.precision_report.bound:.6g}"
        return props


def convert(
    source: str | os.PathLike[str] | onnx.ModelProto | Any,
    input_nodes: NodeNames = None,
    output_nodes: NodeNames = None,
    *,
    precision: str = "exact",
    sample_inputs: np.ndarray | Mapping[str, np.ndarray] | None = None,
    atol: float = parity.DEFAULT_ATOL,
    rtol: float = parity.DEFAULT_RTOL,
    mantissa_bits: int = 4,
    block_size: int = 16,
) -> ConversionResult:
    """Convert ``source`` (a model file or folder, an ``onnx.ModelProto`` or a scikit-learn
    estimator) to ONNX, check it, and apply ``precision`` (``exact``, ``int8`` or ``bfp``)."""
    check_precision(precision)
    inputs, outputs = _names(input_nodes), _names(output_nodes)
    report: ParityReport | None = None
    parity_inputs: np.ndarray | None = None
    if isinstance(source, onnx.ModelProto):
        kind, model = "onnx", _checked(source, "the given model")
    elif isinstance(source, (str, os.PathLike)):
        found = sources.detect(Path(source))
        kind = found.kind
        if kind == "onnx":
            model = _checked(_load_onnx(found.path), found.path.name)
        elif kind == "sklearn":
            estimator = load_estimator(found.path)
        else:
            raw = convert_tensorflow(found, inputs, outputs)
            model = _checked(onnx.load_model_from_string(raw), "tf2onnx's output")
    elif hasattr(source, "fit") and hasattr(source, "get_params"):
        kind, estimator = "sklearn", source
    else:
        raise ConversionError(
            f"Cannot convert a {type(source).__name__}: pass a model path, an onnx.ModelProto "
            "or a fitted scikit-learn estimator."
        )
    if kind == "sklearn":
        if len(inputs) > 1:
            raise graph.NodeNameError(
                f"A scikit-learn model takes one input matrix; got input nodes {inputs}. "
                "Give one name (it becomes the ONNX input's name)."
            )
        model = _checked(sklearn_to_onnx(estimator, inputs[0] if inputs else "input"), "skl2onnx")
        inputs = []
        if sample_inputs is not None and not isinstance(sample_inputs, Mapping):
            parity_inputs = np.asarray(sample_inputs, dtype=np.float32)
        else:
            parity_inputs = samples.feature_matrix(int(estimator.n_features_in_))
        report = parity.check_sklearn_parity(
            estimator, OnnxModel.load(model, prefer_gpu=False), parity_inputs, atol=atol, rtol=rtol
        )
        if not report.passed:
            raise ParityError(report)
    model = graph.select(model, inputs, outputs)
    model, precision_report = _apply_precision(
        model, precision, sample_inputs, parity_inputs, mantissa_bits, block_size
    )
    return ConversionResult(
        model=model,
        source_kind=kind,
        input_names=tuple(graph.graph_inputs(model)),
        output_names=tuple(graph.graph_outputs(model)),
        precision=precision,
        parity=report,
        precision_report=precision_report,
    )


def load_estimator(path: Path) -> Any:
    """A pickled (joblib or plain pickle) scikit-learn model."""
    import joblib

    try:
        estimator = joblib.load(path)
    except Exception as exc:
        raise ConversionError(f"Cannot load {path.name} as a pickled model: {exc}") from exc
    if not (hasattr(estimator, "fit") and hasattr(estimator, "get_params")):
        raise ConversionError(
            f"{path.name} holds a {type(estimator).__name__}, not a scikit-learn estimator."
        )
    return estimator


def sklearn_to_onnx(estimator: Any, input_name: str) -> onnx.ModelProto:
    """skl2onnx's conversion with one float input ``[N, n_features]``; classifiers return a
    probabilities tensor (no ZipMap) so every output is servable as a tensor."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.base import is_classifier

    n_features = getattr(estimator, "n_features_in_", None)
    if n_features is None:
        raise ConversionError(
            f"{type(estimator).__name__} is not fitted (no n_features_in_); fit it first."
        )
    options = {"zipmap": False} if is_classifier(estimator) else None
    try:
        return to_onnx(
            estimator,
            initial_types=[(input_name, FloatTensorType([None, int(n_features)]))],
            options=options,
        )
    except Exception as exc:
        raise ConversionError(
            f"skl2onnx cannot convert {type(estimator).__name__}: {exc}. [emulator] See "
            "skl2onnx's supported estimators, or convert to ONNX yourself and register the "
            ".onnx file."
        ) from exc


def _apply_precision(
    model: onnx.ModelProto,
    precision: str,
    sample_inputs: np.ndarray | Mapping[str, np.ndarray] | None,
    parity_inputs: np.ndarray | None,
    mantissa_bits: int,
    block_size: int,
) -> tuple[onnx.ModelProto, PrecisionReport | None]:
    if precision == "exact":
        return model, None
    reduced, changed = reduce(model, precision, mantissa_bits=mantissa_bits, block_size=block_size)
    exact_model = OnnxModel.load(model, prefer_gpu=False)
    feeds: Mapping[str, np.ndarray] | None
    if isinstance(sample_inputs, Mapping):
        feeds = sample_inputs
    elif sample_inputs is not None or parity_inputs is not None:
        matrix = parity_inputs if parity_inputs is not None else sample_inputs
        feeds = {exact_model.input_names[0]: np.asarray(matrix)}
    else:
        feeds = samples.for_model(exact_model, count=samples.DEFAULT_SAMPLES)
    report = deviation(
        precision, exact_model, OnnxModel.load(reduced, prefer_gpu=False), feeds, changed
    )
    return reduced, report


def _names(nodes: NodeNames) -> list[str]:
    """``"a, b"`` / ``["a", "b"]`` / None → a list of names."""
    if nodes is None:
        return []
    if isinstance(nodes, str):
        return [n.strip() for n in nodes.split(",") if n.strip()]
    return [str(n) for n in nodes]


def _load_onnx(path: Path) -> onnx.ModelProto:
    try:
        return onnx.load(str(path))
    except Exception as exc:
        raise ConversionError(f"{path.name} is not a readable ONNX model: {exc}") from exc


def _checked(model: onnx.ModelProto, what: str) -> onnx.ModelProto:
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise ConversionError(f"{what} is not a valid ONNX model: {exc}") from exc
    return model


def _default_opset(model: onnx.ModelProto) -> int:
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
