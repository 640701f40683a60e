"""No-code entry script for a scikit-learn model: ``{"data": rows, "method": "predict"}``.

Azure ML's generated script takes ``data`` (a list of rows) and an optional ``method``
(``predict`` or ``predict_proba``) and returns the method's result as a list.
"""

import json
import os
from typing import Any

import joblib
import numpy as np

model: Any = None
_METHODS = ("predict", "predict_proba")


def init() -> None:
    global model
    root = os.environ["AZUREML_MODEL_DIR"]
    files = [os.path.join(d, f) for d, _, names in os.walk(root) for f in names]
    if len(files) != 1:
        raise RuntimeError(f"expected exactly one model file under {root}, found {files}")
    model = joblib.load(files[0])


def run(raw_data: str) -> list:
    request = json.loads(raw_data)
    method = request.get("method", "predict")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(_METHODS)}, not {method!r}")
    result = getattr(model, method)(np.asarray(request["data"]))
    return result.tolist()
