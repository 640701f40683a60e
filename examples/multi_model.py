"""Microsoft's multi-model deployment sample, SDK v1 style: two models behind one service.

Run offline with:  amlemu run examples/multi_model.py

With several models, AZUREML_MODEL_DIR is the ``azureml-models`` folder and each model lives
under ``<name>/<version>/`` in it; the scoring script finds each with Model.get_model_path.
"""

import json
import os

import joblib
from azureml.core import Environment, Workspace
from azureml.core.conda_dependencies import CondaDependencies
from azureml.core.model import InferenceConfig, Model
from azureml.core.webservice import AciWebservice
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Lasso, Ridge

ws = Workspace.get(name="myworkspace", subscription_id="<sub>", resource_group="myrg")

X, y = load_diabetes(return_X_y=True)
os.makedirs("outputs", exist_ok=True)
joblib.dump(Ridge().fit(X, y), "outputs/ridge.pkl")
joblib.dump(Lasso().fit(X, y), "outputs/lasso.pkl")
ridge = Model.register(ws, "outputs/ridge.pkl", "diabetes-ridge")
lasso = Model.register(ws, "outputs/lasso.pkl", "diabetes-lasso")

with open("score_multi.py", "w") as f:
    f.write("""
import json
import os

import joblib
import numpy as np
from azureml.core.model import Model


def init():
    global ridge, lasso
    print("AZUREML_MODEL_DIR:", os.getenv("AZUREML_MODEL_DIR"))
    ridge = joblib.load(Model.get_model_path("diabetes-ridge"))
    models = os.getenv("AZUREML_MODEL_DIR")
    lasso = joblib.load(os.path.join(models, "diabetes-lasso", "1", "lasso.pkl"))


def run(raw_data):
    data = np.array(json.loads(raw_data)["data"])
    return {"ridge": ridge.predict(data).tolist(), "lasso": lasso.predict(data).tolist()}
""")

env = Environment("diabetes-env")
env.python.conda_dependencies = CondaDependencies.create(
    pip_packages=["scikit-learn", "numpy", "joblib", "azureml-defaults"]
)
inference_config = InferenceConfig(entry_script="score_multi.py", environment=env)
service = Model.deploy(
    ws,
    "diabetes-multi",
    [ridge, lasso],
    inference_config,
    AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1),
)
service.wait_for_deployment(show_output=True)
result = service.run(json.dumps({"data": X[:2].tolist()}))
print("ridge:", [round(v, 2) for v in result["ridge"]])
print("lasso:", [round(v, 2) for v in result["lasso"]])
service.delete()
