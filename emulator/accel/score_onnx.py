"""Entry script of accelerated (``AccelContainer``) images: the image's ONNX model on ``/score``.

``AccelContainerImage`` images carry no user script; the emulator's scoring server runs this
one. ``init()`` loads the single ``.onnx`` file under ``AZUREML_MODEL_DIR`` with ONNX Runtime;
``run()`` scores a JSON body (see ``emulator.accel.scoring``). The gRPC endpoint of the same
model is the emulated cluster's (``emulator.services.grpc_gateway``), which loads this file too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

model: Any = None


def find_onnx(model_dir: str | os.PathLike[str]) -> Path:
    """The one ``.onnx`` file below ``model_dir`` (the image holds one converted model)."""
    found = sorted(Path(model_dir).rglob("*.onnx"))
    if len(found) != 1:
        listing = ", ".join(str(p) for p in found) or "none"
        raise RuntimeError(
            f"An accelerated image serves exactly one ONNX model; found {len(found)} .onnx files "
            f"under {model_dir} ({listing})."
        )
    return found[0]


def init() -> None:
    global model
    from emulator.accel.session import OnnxModel

    model = OnnxModel.load(find_onnx(os.environ.get("AZUREML_MODEL_DIR", ".")))


def run(raw_data: str) -> Any:
    from emulator.accel.scoring import score_json
    from emulator.server.contrib.aml_response import AMLResponse

    status, document = score_json(model, raw_data)
    if status != 200:
        return AMLResponse(document, status, json_str=True, run_function_failed=status >= 500)
    return document
