"""The seed's most common init() failure: get_model_path with a name that was not deployed."""

from azureml.core.model import Model


def init():
    print("wrong-model: looking for the model")
    Model.get_model_path(model_name="my-best-modle")


def run(raw_data):
    return raw_data
