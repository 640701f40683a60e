"""A linear model scored as Azure ML runs it: init() once per replica, run() per request."""

import json
import logging
import os

weights = {}


def init():
    # AZUREML_MODEL_DIR is azureml-models/<model>/<version>; the deployment's model folder
    # ("model" in blue-deployment.yml) is below it, as in Azure.
    path = os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "weights.json")
    with open(path, encoding="utf-8") as f:
        weights.update(json.load(f))
    logging.info("Init complete: %d coefficients", len(weights["coef"]))
    print("Init complete")


def run(raw_data):
    rows = json.loads(raw_data)["data"]
    coef, intercept = weights["coef"], weights["intercept"]
    return [sum(c * x for c, x in zip(coef, row, strict=True)) + intercept for row in rows]
