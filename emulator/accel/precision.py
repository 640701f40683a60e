"""Reduced-precision emulation: what the accelerator's arithmetic does to a model's results.

``exact`` (the default) leaves the model alone. ``int8`` applies ONNX Runtime's dynamic
quantization (int8 weights; activations quantized per batch at run time) to MatMul/Gemm/Conv
and friends. ``bfp`` emulates block floating point on the weights the way Brainwave's ms-fp
formats store them: blocks of ``block_size`` values along the last axis share one exponent and
keep ``mantissa_bits`` bits of magnitude each (activations stay float: weights only).

The deviation from the exact model is measured on generated inputs and reported as an observed
bound — the largest difference seen, not a guarantee for other inputs.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from emulator.accel.errors import ConversionError
from emulator.accel.session import OnnxModel

PRECISIONS = ("exact", "int8", "bfp")
DEFAULT_MANTISSA_BITS = 4
DEFAULT_BLOCK_SIZE = 16
_QUANTIZABLE_OPS = {
    "MatMul",
    "Gemm",
    "Conv",
    "Attention",
    "LSTM",
    "GRU",
    "Gather",
    "EmbedLayerNormalization",
}
_QUANTIZED_OPS = {"MatMulInteger", "ConvInteger", "DynamicQuantizeMatMul", "DynamicQuantizeLinear"}


@dataclass(frozen=True)
class PrecisionReport:
    """How far the reduced-precision model strays from the exact one on generated inputs."""

    precision: str
    samples: int
    changed: int
    max_abs_diff: float
    mean_abs_diff: float
    max_rel_diff: float
    label_agreement: float | None
    note: str

    @property
    def bound(self) -> float:
        """The observed deviation bound: the largest absolute difference from exact results."""
        return self.max_abs_diff

    def summary(self) -> str:
        text = (
            f"Precision {self.precision}: {self.changed} tensors/operators changed; on "
            f"{self.samples} generated inputs the results differ from exact by at most "
            f"{self.max_abs_diff:.3g} (mean {self.mean_abs_diff:.3g}, "
            f"{self.max_rel_diff:.2%} of the output range)"
        )
        if self.label_agreement is not None:
            text += f", labels agree on {self.label_agreement:.1%}"
        return text + (f". {self.note}" if self.note else "")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "bound": self.bound}


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(
            f"Unknown precision {precision!r}; choose one of: {', '.join(PRECISIONS)} "
            "('exact' is the default)."
        )
    return precision


def reduce(
    model: onnx.ModelProto,
    precision: str,
    *,
    mantissa_bits: int = DEFAULT_MANTISSA_BITS,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> tuple[onnx.ModelProto, int]:
    """The model in ``precision`` and how many weights/operators that changed."""
    check_precision(precision)
    if precision == "exact":
        return model, 0
    if precision == "int8":
        return _int8(model)
    return _bfp(model, mantissa_bits, block_size)


def _int8(model: onnx.ModelProto) -> tuple[onnx.ModelProto, int]:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if not any(node.op_type in _QUANTIZABLE_OPS for node in model.graph.node):
        return model, 0
    with tempfile.TemporaryDirectory(prefix="amlemu-int8-") as tmp, _quiet_root_logger():
        target = Path(tmp) / "int8.onnx"
        try:
            quantize_dynamic(model, target, weight_type=QuantType.QInt8)
        except Exception as exc:
            raise ConversionError(f"int8 quantization failed: {exc}") from exc
        reduced = onnx.load(str(target))
    changed = sum(node.op_type in _QUANTIZED_OPS for node in reduced.graph.node) - sum(
        node.op_type in _QUANTIZED_OPS for node in model.graph.node
    )
    return reduced, max(changed, 0)


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """The quantizer warns through ``logging.warning`` (which would also configure the root
    logger); while it runs, the root logger gets a null handler and only errors pass."""
    root = logging.getLogger()
    handler = logging.NullHandler()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
        root.removeHandler(handler)


def _bfp(
    model: onnx.ModelProto, mantissa_bits: int, block_size: int
) -> tuple[onnx.ModelProto, int]:
    if mantissa_bits < 1 or block_size < 1:
        raise ValueError("bfp needs mantissa_bits >= 1 and block_size >= 1")
    reduced = onnx.ModelProto()
    reduced.CopyFrom(model)
    changed = 0
    for init in reduced.graph.initializer:
        weights = numpy_helper.to_array(init)
        if weights.dtype.kind != "f" or weights.ndim < 2:
            continue
        rounded = block_float(weights, mantissa_bits, block_size)
        init.CopyFrom(numpy_helper.from_array(rounded.astype(weights.dtype), init.name))
        changed += 1
    return reduced, changed


def block_float(values: np.ndarray, mantissa_bits: int, block_size: int) -> np.ndarray:
    """``values`` rounded to block floating point: per block of the last axis one shared
    exponent (the block's largest), ``mantissa_bits`` bits of magnitude per value."""
    flat = values.astype(np.float64).reshape(-1, values.shape[-1])
    width = flat.shape[1]
    padded_width = -(-width // block_size) * block_size
    padded = np.zeros((flat.shape[0], padded_width))
    padded[:, :width] = flat
    blocks = padded.reshape(flat.shape[0], -1, block_size)
    largest = np.abs(blocks).max(axis=2, keepdims=True)
    exponent = np.floor(np.log2(np.where(largest > 0, largest, 1.0)))
    step = np.exp2(exponent + 1 - mantissa_bits)
    limit = 2.0**mantissa_bits - 1
    quantized = np.clip(np.round(blocks / step), -limit, limit) * step
    return quantized.reshape(flat.shape[0], padded_width)[:, :width].reshape(values.shape)


def deviation(
    precision: str,
    exact: OnnxModel,
    reduced: OnnxModel,
    feeds: Mapping[str, np.ndarray] | None,
    changed: int,
) -> PrecisionReport:
    """Compare ``reduced`` with ``exact`` on ``feeds`` (None: nothing could be generated)."""
    note = ""
    if precision != "exact" and changed == 0:
        note = (
            "Nothing in this model is affected: int8 quantizes MatMul/Gemm/Conv-like operators, "
            "bfp rounds float weight matrices; tree and linear ONNX-ML operators stay exact"
        )
    if feeds is None:
        return PrecisionReport(
            precision, 0, changed, 0.0, 0.0, 0.0, None,
            (note + "; " if note else "")
            + "no inputs could be generated for this model's signature (string or unknown "
            "shapes): the deviation was not measured",
        )  # fmt: skip
    count = len(next(iter(feeds.values()))) if feeds else 0
    want = exact.resolve_outputs(None)
    a = exact.run(feeds, want)
    b = reduced.run(feeds, want)
    max_abs = mean_abs = max_rel = 0.0
    agreement: float | None = None
    for name in want:
        expected, got = a[name], b[name]
        if expected.dtype.kind in "fc":
            diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
            scale = float(np.abs(expected).max(initial=0.0)) or 1.0
            max_abs = max(max_abs, float(diff.max(initial=0.0)))
            mean_abs = max(mean_abs, float(diff.mean()) if diff.size else 0.0)
            max_rel = max(max_rel, float(diff.max(initial=0.0)) / scale)
        else:
            same = float(np.mean(expected.reshape(-1) == got.reshape(-1))) if expected.size else 1.0
            agreement = same if agreement is None else min(agreement, same)
    return PrecisionReport(precision, count, changed, max_abs, mean_abs, max_rel, agreement, note)
