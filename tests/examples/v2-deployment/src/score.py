"""A churn scorer without third-party packages: a linear model kept as JSON.

The deployment's model folder ``model/`` is below ``AZUREML_MODEL_DIR`` under its own name,
as Azure lays out a v2 deployment's model.
"""

import json
import os

weights: list[float] = []
bias = 0.0
threshold = 0.5


def init() -> None:
    global bias, threshold
    path = os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "weights.json")
    with open(path, encoding="utf-8") as handle:
        saved = json.load(handle)
    weights[:] = saved["weights"]
    bias = float(saved["bias"])
    threshold = float(os.environ["THRESHOLD"])


def run(raw: str) -> list[bool]:
    rows = json.loads(raw)["data"]
    scores = [sum(w * x for w, x in zip(weights, row, strict=True)) + bias for row in rows]
    return [score > threshold for score in scores]
