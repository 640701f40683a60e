"""Which ONNX Runtime execution provider runs a model: CUDA when present, else the CPU.

The FPGA of an Azure accelerated service is stood in for by whatever accelerator ONNX Runtime
can use here; callers read back which provider actually runs (``session.get_providers()[0]``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import onnxruntime as ort

_PREFERRED = ("CUDAExecutionProvider", "CPUExecutionProvider")


def available() -> list[str]:
    """The preferred providers this ONNX Runtime build offers, best first."""
    offered = set(ort.get_available_providers())
    return [name for name in _PREFERRED if name in offered]


def make_session(
    model: bytes | str | os.PathLike[str] | Any,
    *,
    prefer_gpu: bool = True,
    threads: int | None = None,
) -> ort.InferenceSession:
    """An InferenceSession for a serialized model, a path, or an ``onnx.ModelProto``."""
    if hasattr(model, "SerializeToString"):
        model = model.SerializeToString()
    elif isinstance(model, (str, os.PathLike)):
        model = str(Path(model))
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    providers = available() if prefer_gpu else ["CPUExecutionProvider"]
    return ort.InferenceSession(model, sess_options=options, providers=providers)


def provider_of(session: ort.InferenceSession) -> str:
    """The provider that runs first for ``session`` (``CPUExecutionProvider`` as the fallback)."""
    return session.get_providers()[0]
