"""Entry script of the spec file: a linear classifier from JSON weights, pure Python."""

import json
import os

weights = None


def init():
    global weights
    path = os.path.join(os.environ["AZUREML_MODEL_DIR"], "iris-weights.json")
    with open(path, encoding="utf-8") as handle:
        weights = json.load(handle)


def run(raw_data):
    rows = json.loads(raw_data)["data"]
    return [_predict(row) for row in rows]


def _predict(row):
    scores = [
        sum(w * x for w, x in zip(coef, row, strict=True)) + bias
        for coef, bias in zip(weights["coef"], weights["intercept"], strict=True)
    ]
    return weights["classes"][scores.index(max(scores))]
