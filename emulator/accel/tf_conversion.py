"""TensorFlow → ONNX through ``tf2onnx``, only when it is installed; otherwise a clear error.

The conversion runs ``python -m tf2onnx.convert`` in a subprocess: TensorFlow is heavy to
import and registers its own ``tensorflow.TensorProto`` in protobuf's default pool, which would
clash with the serving protos of this process.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from emulator.accel.errors import ConversionError
from emulator.accel.sources import ModelSource

INSTALL_HINT = "pip install tf2onnx tensorflow"
DEFAULT_OPSET = 17


class MissingConverterError(ConversionError, ImportError):
    """TensorFlow conversion was asked for but ``tf2onnx`` (or TensorFlow) is missing."""


def missing_packages() -> list[str]:
    """The packages a TensorFlow conversion needs that are not importable here."""
    return [name for name in ("tf2onnx", "tensorflow") if importlib.util.find_spec(name) is None]


def convert_tensorflow(
    source: ModelSource,
    input_nodes: Sequence[str] | None,
    output_nodes: Sequence[str] | None,
    opset: int = DEFAULT_OPSET,
) -> bytes:
    """The serialized ONNX model tf2onnx makes of ``source``."""
    missing = missing_packages()
    if missing:
        raise MissingConverterError(
            f"Converting a TensorFlow model ({source.path.name}) to ONNX needs "
            f"{' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not "
            f"installed: {INSTALL_HINT}. [emulator] ONNX and scikit-learn models convert "
            "without them; or convert the model yourself (python -m tf2onnx.convert "
            "--saved-model DIR --output model.onnx) and register the .onnx file."
        )
    if source.tf_format in ("graphdef", "checkpoint") and not (input_nodes and output_nodes):
        raise ConversionError(
            f"A TensorFlow {source.tf_format} model needs input and output node names "
            "(for example input_node='images:0', outputs_nodes='logits:0')."
        )
    with tempfile.TemporaryDirectory(prefix="amlemu-tf2onnx-") as tmp:
        target = Path(tmp) / "model.onnx"
        command = [
            sys.executable,
            "-m",
            "tf2onnx.convert",
            f"--{source.tf_format}",
            str(source.path),
            "--output",
            str(target),
            "--opset",
            str(opset),
        ]
        if source.tf_format in ("graphdef", "checkpoint") and input_nodes and output_nodes:
            # These formats have no signature: tf2onnx needs the names. The others convert
            # whole; the names are then checked against the ONNX graph like any other model.
            command += ["--inputs", ",".join(_tensor_names(input_nodes))]
            command += ["--outputs", ",".join(_tensor_names(output_nodes))]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not target.exists():
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
            raise ConversionError(
                f"tf2onnx could not convert {source.path.name} (exit {done.returncode}):\n{tail}"
            )
        return target.read_bytes()


def _tensor_names(nodes: Sequence[str]) -> list[str]:
    """tf2onnx wants tensor names (``name:0``); node names get the ``:0``."""
    return [n if ":" in n else f"{n}:0" for n in nodes]
