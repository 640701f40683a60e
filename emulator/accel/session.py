"""``OnnxModel``: an ONNX Runtime session plus its signature, and the input checks every route
(gRPC Predict, HTTP ``/score``) shares, so a wrong name, dtype or shape gets one clear message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnxruntime as ort

from emulator.accel import names, providers


class InputError(ValueError):
    """The request does not fit the model's inputs (gRPC ``INVALID_ARGUMENT``, HTTP 400)."""


class OutputError(ValueError):
    """An output cannot be returned as a tensor (unknown name, or a sequence/map output)."""


_ELEMENT_TYPES: dict[str, np.dtype[Any]] = {
    "float": np.dtype(np.float32),
    "double": np.dtype(np.float64),
    "float16": np.dtype(np.float16),
    "int8": np.dtype(np.int8),
    "int16": np.dtype(np.int16),
    "int32": np.dtype(np.int32),
    "int64": np.dtype(np.int64),
    "uint8": np.dtype(np.uint8),
    "uint16": np.dtype(np.uint16),
    "uint32": np.dtype(np.uint32),
    "uint64": np.dtype(np.uint64),
    "bool": np.dtype(np.bool_),
    "string": np.dtype(object),
}


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output: name, ONNX Runtime type string, numpy dtype, shape."""

    name: str
    type: str
    dtype: np.dtype[Any] | None
    shape: tuple[int | None, ...] | None

    @property
    def is_tensor(self) -> bool:
        return self.type.startswith("tensor(")

    def describe(self) -> str:
        dims = (
            "?"
            if self.shape is None
            else ", ".join("N" if d is None else str(d) for d in self.shape)
        )
        return f"{self.name} {self.type} [{dims}]"

    @classmethod
    def of(cls, arg: Any) -> TensorSpec:
        kind = str(arg.type)
        element = kind[len("tensor(") : -1] if kind.startswith("tensor(") else None
        shape = arg.shape
        dims = (
            None
            if shape is None
            else tuple(d if isinstance(d, int) and d >= 0 else None for d in shape)
        )
        return cls(arg.name, kind, _ELEMENT_TYPES.get(element or ""), dims)


class OnnxModel:
    """A loaded ONNX model ready to score, with its inputs and outputs described."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self.session = session
        self.inputs = tuple(TensorSpec.of(a) for a in session.get_inputs())
        self.outputs = tuple(TensorSpec.of(a) for a in session.get_outputs())
        self.input_names = tuple(s.name for s in self.inputs)
        self.output_names = tuple(s.name for s in self.outputs)
        self.provider = providers.provider_of(session)

    @classmethod
    def load(
        cls,
        model: bytes | str | os.PathLike[str] | Any,
        *,
        prefer_gpu: bool = True,
        threads: int | None = None,
    ) -> OnnxModel:
        """From a serialized model, a ``.onnx`` path or an ``onnx.ModelProto``."""
        return cls(providers.make_session(model, prefer_gpu=prefer_gpu, threads=threads))

    def signature(self) -> str:
        ins = "; ".join(s.describe() for s in self.inputs)
        outs = "; ".join(s.describe() for s in self.outputs)
        return f"inputs: {ins} / outputs: {outs}"

    # -- checks ----------------------------------------------------------------------------------

    def prepare(self, feeds: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """``feeds`` checked against the inputs and converted to what the session needs."""
        prepared: dict[str, np.ndarray] = {}
        for given, value in feeds.items():
            name = names.match(given, self.input_names)
            if name is None:
                raise InputError(
                    names.unknown_name("Input", given, self.input_names, "the model's inputs")
                )
            spec = self.inputs[self.input_names.index(name)]
            prepared[name] = _converted(spec, np.asarray(value))
        missing = [n for n in self.input_names if n not in prepared]
        if missing:
            raise InputError(
                f"Missing input(s) {', '.join(map(repr, missing))}. The model needs: "
                + "; ".join(s.describe() for s in self.inputs)
            )
        return prepared

    def resolve_outputs(self, wanted: Sequence[str] | None) -> list[str]:
        """Output names to compute (all tensor outputs when ``wanted`` is empty)."""
        if not wanted:
            return [s.name for s in self.outputs if s.is_tensor]
        resolved = []
        for given in wanted:
            name = names.match(given, self.output_names)
            if name is None:
                raise OutputError(
                    names.unknown_name("Output", given, self.output_names, "the model's outputs")
                )
            spec = self.outputs[self.output_names.index(name)]
            if not spec.is_tensor:
                raise OutputError(
                    f"Output {name!r} is a {spec.type}, not a tensor; it cannot be returned. "
                    "[emulator] For scikit-learn classifiers convert with zipmap disabled (the "
                    "emulator's converter does) to get a probabilities tensor."
                )
            resolved.append(name)
        return resolved

    # -- scoring ---------------------------------------------------------------------------------

    def run(
        self, feeds: Mapping[str, Any], outputs: Sequence[str] | None = None
    ) -> dict[str, np.ndarray]:
        """Score: checked inputs in, ``{output name: array}`` out (in the order asked for, else
        the graph's)."""
        prepared = self.prepare(feeds)
        wanted = self.resolve_outputs(outputs)
        try:
            values = self.session.run(wanted, prepared)
        except Exception as exc:
            if type(exc).__name__ in ("InvalidArgument", "InvalidGraph"):
                raise InputError(f"ONNX Runtime rejected the inputs: {exc}") from exc
            raise
        keys = list(outputs) if outputs else wanted  # answered under the names asked for
        return dict(zip(keys, (np.asarray(v) for v in values), strict=True))


def _converted(spec: TensorSpec, array: np.ndarray) -> np.ndarray:
    if spec.dtype is None:
        raise InputError(f"Input {spec.name!r} is a {spec.type}; only tensor inputs can be sent.")
    if spec.dtype == np.dtype(object):
        if array.dtype.kind not in "OSU":
            raise InputError(
                f"Input {spec.name!r} takes strings (tensor(string)), got {array.dtype} values."
            )
        array = _as_text(spec.name, array)
    elif array.dtype != spec.dtype:
        if array.dtype.kind in "OSU" or not np.can_cast(array.dtype, spec.dtype, "same_kind"):
            got = "strings" if array.dtype.kind in "OSU" else str(array.dtype)
            raise InputError(
                f"Input {spec.name!r} holds {got} but the model expects {spec.dtype} ({spec.type})."
            )
        array = array.astype(spec.dtype)
    _check_shape(spec, array.shape)
    return array


def _check_shape(spec: TensorSpec, shape: tuple[int, ...]) -> None:
    if spec.shape is None:
        return
    if len(shape) == len(spec.shape) and all(
        want is None or got == want for got, want in zip(shape, spec.shape, strict=True)
    ):
        return
    expected = spec.describe().split(" ", 2)[2]
    if len(shape) != len(spec.shape):
        raise InputError(
            f"Input {spec.name!r} has shape {list(shape)} (rank {len(shape)}) but the model "
            f"expects {expected} (rank {len(spec.shape)})."
        )
    for axis, (got, want) in enumerate(zip(shape, spec.shape, strict=True)):
        if want is not None and got != want:
            raise InputError(
                f"Input {spec.name!r} has shape {list(shape)} but the model expects {expected}: "
                f"dimension {axis} must be {want}."
            )


def _as_text(name: str, array: np.ndarray) -> np.ndarray:
    """ONNX Runtime's string tensors hold text: bytes are decoded as UTF-8."""
    flat = array.reshape(-1)
    out = np.empty(flat.shape, dtype=object)
    for i, item in enumerate(flat):
        if isinstance(item, bytes):
            try:
                item = item.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"Input {name!r} is tensor(string): ONNX Runtime string tensors hold UTF-8 "
                    f"text, and element {i} is not UTF-8 ({exc.reason}). Send binary data as a "
                    "uint8 tensor instead."
                ) from exc
        out[i] = str(item)
    return out.reshape(array.shape)
