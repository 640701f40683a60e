"""The seed's scoring script in miniature: init() finds the model with get_model_path and
prints where (so `amlemu logs` can be checked); run() answers that path."""

from azureml.core.model import Model

MODEL_NAME = "my-best-model"


def init():
    global model_path
    model_path = Model.get_model_path(model_name=MODEL_NAME)
    print(f"seed-score: init found the model at {model_path}")


def run(raw_data):
    return {"model": model_path}
