"""Register a model and find it again, with unchanged Azure ML SDK v1 code.

Run offline with:  amlemu run examples/register_and_resolve.py [MODEL_FILE]
"""

import os
import sys

import azureml.core
from azureml.core import Workspace
from azureml.core.model import Model

print("Azure ML SDK version:", azureml.core.VERSION)

ws = Workspace.get(
    name="myworkspace",
    subscription_id="00000000-0000-0000-0000-000000000000",
    resource_group="myresourcegroup",
)

model_path = sys.argv[1] if len(sys.argv) > 1 else "model.pkl"
if not os.path.exists(model_path):
    with open(model_path, "wb") as fh:
        fh.write(b"not a real model, just bytes to register")

model = Model.register(
    model_path=model_path,
    model_name="nyc-taxi-automl-predictor",
    tags={"area": "auto", "type": "regression"},
    description="NYC Taxi Fare Predictor",
    workspace=ws,
)
print()
print(f"Model registered: {model.name} ")
print(f"Model Description: {model.description} ")
print(f"Model Version: {model.version}")
print("Downloaded to:", Model.get_model_path(model.name, _workspace=ws))
