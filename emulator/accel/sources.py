"""What kind of model a file or folder holds: ONNX, a pickled scikit-learn model, or TensorFlow.

Decided from names first (``.onnx``, ``.pkl``/``.joblib``, ``saved_model.pb``, ``.pb``,
``.meta``, ``.h5``/``.keras``, ``.tflite``), then from content (a pickle's opcode, an ONNX
protobuf). A folder is looked into: a SavedModel, or exactly one recognisable model file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from emulator.accel.errors import ConversionError

SKLEARN_SUFFIXES = (".pkl", ".pickle", ".joblib", ".sav")
TF_FORMATS = {
    ".pb": "graphdef",
    ".meta": "checkpoint",
    ".h5": "keras",
    ".keras": "keras",
    ".tflite": "tflite",
}


class UnknownFormatError(ConversionError, ValueError):
    """Nothing convertible was recognised."""


@dataclass(frozen=True)
class ModelSource:
    """``kind`` is ``onnx``, ``sklearn`` or ``tensorflow``; ``tf_format`` is tf2onnx's option
    (``saved-model``, ``graphdef``, ``checkpoint``, ``keras``, ``tflite``) for TensorFlow."""

    kind: str
    path: Path
    tf_format: str | None = None


def detect(path: Path) -> ModelSource:
    """The model at ``path`` (a file or a folder)."""
    if path.is_dir():
        return _detect_dir(path)
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return ModelSource("onnx", path)
    if suffix in SKLEARN_SUFFIXES:
        return ModelSource("sklearn", path)
    if path.name == "saved_model.pb":
        return ModelSource("tensorflow", path.parent, "saved-model")
    if suffix in TF_FORMATS:
        return ModelSource("tensorflow", path, TF_FORMATS[suffix])
    head = path.read_bytes()[:2]
    if head[:1] == b"\x80":
        return ModelSource("sklearn", path)
    if _is_onnx(path):
        return ModelSource("onnx", path)
    raise UnknownFormatError(
        f"Cannot tell what kind of model {path.name} is. Supported: ONNX (.onnx), scikit-learn "
        f"pickles ({', '.join(SKLEARN_SUFFIXES)}), TensorFlow (SavedModel folder, frozen .pb, "
        "checkpoint .meta, Keras .h5/.keras, .tflite)."
    )


def _detect_dir(path: Path) -> ModelSource:
    if (path / "saved_model.pb").exists():
        return ModelSource("tensorflow", path, "saved-model")
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    known = [p for p in files if _recognised(p)]
    onnx_files = [p for p in known if p.suffix.lower() == ".onnx"]
    if len(onnx_files) == 1:
        return ModelSource("onnx", onnx_files[0])
    if len(known) == 1:
        return detect(known[0])
    listing = ", ".join(str(p.relative_to(path)) for p in (known or files)[:10]) or "no files"
    raise UnknownFormatError(
        f"Folder {path.name} holds {'several' if known else 'no'} recognisable model files "
        f"({listing}); register the one model file to convert, or a TensorFlow SavedModel folder."
    )


def _recognised(path: Path) -> bool:
    suffix = path.suffix.lower()
    return suffix == ".onnx" or suffix in SKLEARN_SUFFIXES or suffix in TF_FORMATS


def _is_onnx(path: Path) -> bool:
    import onnx

    try:
        model = onnx.load(str(path))
    except Exception:
        return False
    return len(model.graph.node) > 0
