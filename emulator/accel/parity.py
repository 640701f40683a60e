"""Numeric parity of a converted model against its scikit-learn original.

Both score the same generated inputs; continuous outputs (probabilities, regression values,
transforms) must agree within ``atol + rtol * |expected|``, labels must be equal except where
the original itself is at a tie (top two probabilities closer than ``tie``). A conversion that
changed the model — a wrong weight, a dropped step — fails with the offending numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from emulator.accel import samples
from emulator.accel.session import OnnxModel

DEFAULT_ATOL = 1e-4
DEFAULT_RTOL = 1e-3


@dataclass(frozen=True)
class ParityReport:
    """The outcome of one parity check (``passed``, and the numbers behind it)."""

    passed: bool
    samples: int
    compared: tuple[str, ...]
    max_abs_diff: float
    max_rel_diff: float
    atol: float
    rtol: float
    label_mismatches: int
    detail: str

    def summary(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        text = (
            f"Parity {verdict} on {self.samples} generated inputs ({', '.join(self.compared)}): "
            f"max abs diff {self.max_abs_diff:.3g}, max rel diff {self.max_rel_diff:.3g}, "
            f"tolerance atol={self.atol:g} rtol={self.rtol:g}, "
            f"label mismatches {self.label_mismatches}"
        )
        return text + (f". {self.detail}" if self.detail else "")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_sklearn_parity(
    estimator: Any,
    converted: OnnxModel,
    inputs: np.ndarray | None = None,
    *,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    seed: int = 0,
) -> ParityReport:
    """Score ``inputs`` (generated when None) with both models and compare what they return."""
    if inputs is None:
        inputs = samples.feature_matrix(_n_features(estimator), seed=seed)
    inputs = np.asarray(inputs, dtype=np.float32)
    onnx_out = converted.run({converted.input_names[0]: inputs})
    names = list(onnx_out)
    pairs: list[tuple[str, np.ndarray, np.ndarray]] = []
    probabilities: np.ndarray | None = None
    if hasattr(estimator, "predict_proba") and len(names) >= 2:
        probabilities = np.asarray(estimator.predict_proba(inputs))
        pairs.append((names[0], np.asarray(estimator.predict(inputs)), onnx_out[names[0]]))
        pairs.append((names[1], probabilities, onnx_out[names[1]]))
    elif hasattr(estimator, "predict"):
        pairs.append((names[0], np.asarray(estimator.predict(inputs)), onnx_out[names[0]]))
    else:
        pairs.append((names[0], np.asarray(estimator.transform(inputs)), onnx_out[names[0]]))
    return _compare(pairs, probabilities, len(inputs), atol, rtol)


def _compare(
    pairs: list[tuple[str, np.ndarray, np.ndarray]],
    probabilities: np.ndarray | None,
    count: int,
    atol: float,
    rtol: float,
) -> ParityReport:
    max_abs = max_rel = 0.0
    mismatches = 0
    problems: list[str] = []
    for name, expected, got in pairs:
        if expected.size != got.size:
            problems.append(f"{name}: {got.shape} values, the original gives {expected.shape}")
            mismatches += count
            continue
        got = got.reshape(expected.shape)
        if expected.dtype.kind in "fc":
            diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
            bad = diff > atol + rtol * np.abs(expected)
            max_abs = max(max_abs, float(diff.max(initial=0.0)))
            significant = np.abs(expected) > atol  # relative error of ~0 values means nothing
            rel = diff[significant] / np.abs(expected[significant])
            max_rel = max(max_rel, float(rel.max(initial=0.0)))
            if bad.any():
                first = tuple(int(i) for i in np.argwhere(bad)[0])
                problems.append(
                    f"{name}: {int(bad.sum())} values out of tolerance, first at {list(first)}: "
                    f"original {expected[first]:.6g}, converted {got[first]:.6g}"
                )
        else:
            differs = _labels_differ(expected, got)
            if probabilities is not None:
                differs &= ~_ties(probabilities)
            mismatches += int(differs.sum())
            if differs.any():
                row = int(np.flatnonzero(differs)[0])
                problems.append(
                    f"{name}: {int(differs.sum())} labels differ, first at row {row}: "
                    f"original {expected.reshape(-1)[row]!r}, converted {got.reshape(-1)[row]!r}"
                )
    return ParityReport(
        passed=not problems,
        samples=count,
        compared=tuple(name for name, _, _ in pairs),
        max_abs_diff=max_abs,
        max_rel_diff=max_rel,
        atol=atol,
        rtol=rtol,
        label_mismatches=mismatches,
        detail="; ".join(problems),
    )


def _labels_differ(expected: np.ndarray, got: np.ndarray) -> np.ndarray:
    flat_expected = expected.reshape(-1)
    flat_got = got.reshape(-1)
    if flat_expected.dtype.kind in "OSU" or flat_got.dtype.kind in "OSU":
        pairs = zip(flat_expected, flat_got, strict=True)
        return np.array([str(a) != str(b) for a, b in pairs], dtype=bool)
    return np.asarray(flat_expected != flat_got, dtype=bool)


def _ties(probabilities: np.ndarray, tie: float = 1e-3) -> np.ndarray:
    """Rows whose two highest probabilities are within ``tie`` (either label is right)."""
    if probabilities.ndim != 2 or probabilities.shape[1] < 2:
        return np.zeros(len(probabilities), dtype=bool)
    top = np.sort(probabilities, axis=1)[:, -2:]
    return np.asarray(top[:, 1] - top[:, 0] <= tie)


def _n_features(estimator: Any) -> int:
    n_features = getattr(estimator, "n_features_in_", None)
    if not isinstance(n_features, (int, np.integer)):
        raise ValueError(
            f"{type(estimator).__name__} does not say how many features it takes "
            "(no n_features_in_); pass sample inputs for the parity check."
        )
    return int(n_features)
