"""No-code entry script for an ONNX model: ``{"data": rows}`` fed to the graph's first input.

Returns every output of the graph by name (lists), as Azure ML's generated ONNX script does.
"""

import json
import os
from typing import Any

import numpy as np
import onnxruntime

session: Any = None


def init() -> None:
    global session
    root = os.environ["AZUREML_MODEL_DIR"]
    files = [os.path.join(d, f) for d, _, names in os.walk(root) for f in names]
    onnx_files = [f for f in files if f.endswith(".onnx")] or files
    session = onnxruntime.InferenceSession(onnx_files[0], providers=["CPUExecutionProvider"])


def run(raw_data: str) -> dict:
    request = json.loads(raw_data)
    first = session.get_inputs()[0]
    dtype = np.int64 if "int64" in first.type else np.float32
    outputs = session.run(None, {first.name: np.asarray(request["data"], dtype=dtype)})
    names = [o.name for o in session.get_outputs()]
    return {name: np.asarray(value).tolist() for name, value in zip(names, outputs, strict=True)}
