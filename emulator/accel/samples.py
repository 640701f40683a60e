"""Generated inputs for checks that compare two models (parity, reduced precision).

Values are drawn half from a standard normal and half uniformly from [-10, 10], then rounded to
float32, so a float64 original and a float32 ONNX graph see exactly the same numbers. Seeds are
fixed: a report is reproducible.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emulator.accel.session import OnnxModel

DEFAULT_SAMPLES = 256


def feature_matrix(n_features: int, count: int = DEFAULT_SAMPLES, seed: int = 0) -> np.ndarray:
    """``count`` rows of ``n_features`` float32-representable values (as float32)."""
    rng = np.random.default_rng(seed)
    half = count // 2
    normal = rng.standard_normal((half, n_features))
    uniform = rng.uniform(-10.0, 10.0, (count - half, n_features))
    return np.concatenate([normal, uniform]).astype(np.float32)


def for_model(
    model: OnnxModel, count: int = 64, seed: int = 0, max_elements: int = 2_000_000
) -> dict[str, np.ndarray] | None:
    """Inputs for every graph input: a dynamic first dimension gets ``count`` rows (fewer when
    a row is large: at most ``max_elements`` values per input), other dynamic ones 1; None
    when an input cannot be generated (strings, sequences, unknown rank)."""
    rng = np.random.default_rng(seed)
    specs = model.inputs
    if any(s.dtype is None or s.dtype == np.dtype(object) or s.shape is None for s in specs):
        return None
    rows = count
    for spec in specs:
        assert spec.shape is not None
        row = int(np.prod([d or 1 for d in spec.shape[1:]], dtype=np.int64))
        rows = max(1, min(rows, max_elements // max(row, 1)))
    feeds: dict[str, np.ndarray] = {}
    for spec in specs:
        assert spec.shape is not None and spec.dtype is not None
        shape = tuple(
            (rows if axis == 0 else 1) if dim is None else dim
            for axis, dim in enumerate(spec.shape)
        )
        feeds[spec.name] = _values(rng, spec.dtype, shape)
    return feeds


def _values(rng: np.random.Generator, dtype: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray:
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    return rng.integers(0, 10, shape).astype(dtype)
