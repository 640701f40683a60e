"""Microsoft's "deploy to local" sample, SDK v1 style: iterate on a scoring script offline.

Run offline with:  amlemu run examples/deploy_local.py

Deploys a scikit-learn model as a LocalWebservice, scores it, edits the entry script and
``reload()``s, then ``update()``s to a new model version.
"""

import json
import os

import joblib
from azureml.core import Environment, Workspace
from azureml.core.conda_dependencies import CondaDependencies
from azureml.core.model import InferenceConfig, Model
from azureml.core.webservice import LocalWebservice
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

ws = Workspace.get(name="myworkspace", subscription_id="<sub>", resource_group="myrg")
X, y = load_iris(return_X_y=True)
os.makedirs("outputs", exist_ok=True)
joblib.dump(LogisticRegression(max_iter=500).fit(X, y), "outputs/model.pkl")
model = Model.register(ws, "outputs/model.pkl", "iris-local")

SCRIPT = """
import json
import joblib
import numpy as np
from azureml.core.model import Model

LABELS = {labels}


def init():
    global model
    model = joblib.load(Model.get_model_path("iris-local"))


def run(raw_data):
    rows = np.array(json.loads(raw_data)["data"])
    return [LABELS[i] for i in model.predict(rows)]
"""
with open("score.py", "w") as f:
    f.write(SCRIPT.format(labels=[0, 1, 2]))

env = Environment("iris-env")
env.python.conda_dependencies = CondaDependencies.create(
    pip_packages=["scikit-learn", "numpy", "joblib"]
)
inference_config = InferenceConfig(entry_script="score.py", environment=env)
service = Model.deploy(
    ws, "iris-local-svc", [model], inference_config, LocalWebservice.deploy_configuration()
)
service.wait_for_deployment(show_output=True)
sample = json.dumps({"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]})
print("before reload:", service.run(sample))

with open("score.py", "w") as f:
    f.write(SCRIPT.format(labels=["setosa", "versicolor", "virginica"]))
service.update(inference_config=inference_config, wait=True)
print("after update:", service.run(sample))
service.reload(wait=True)
print("after reload:", service.run(sample), "state:", service.state)
service.delete()
