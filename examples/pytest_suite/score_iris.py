"""Entry script of the fixture tests: the iris pickle, found with Model.get_model_path."""

import json

import joblib
import numpy as np
from azureml.core.model import Model

model = None


def init():
    global model
    model = joblib.load(Model.get_model_path("iris"))


def run(raw_data):
    data = np.array(json.loads(raw_data)["data"])
    return model.predict(data).tolist()
