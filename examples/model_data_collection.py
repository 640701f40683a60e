"""Model data collection on AKS, SDK v1 style: ``ModelDataCollector`` in the scoring script, a
service deployed with ``collect_model_data=True``, and the collected files read back (after
Microsoft's "enable data collection for models in AKS" notebook).

Run offline with:  amlemu run examples/model_data_collection.py

Azure writes the collected rows to the ``modeldata`` container of the workspace's storage
account, one CSV per model, designation and day; the emulator keeps that container as a folder,
which ``amlemu describe services <name> --json`` shows (the notebook runs it as a shell cell).
The model is a small linear iris classifier stored as JSON, scored in pure Python.
"""

import csv
import json
import os
import subprocess
import sys

from azureml.core import Environment, Workspace
from azureml.core.compute import AksCompute, ComputeTarget
from azureml.core.conda_dependencies import CondaDependencies
from azureml.core.model import InferenceConfig, Model
from azureml.core.webservice import AksWebservice

ws = Workspace.get(
    name="myworkspace", subscription_id="<azure-subscription-id>", resource_group="myresourcegroup"
)

# ---------------------------------------------------------------- register the model
os.makedirs("outputs", exist_ok=True)
weights = {
    "coef": [
        [-0.420239, 0.966931, -2.518944, -1.084595],
        [0.531869, -0.315269, -0.204106, -0.942762],
        [-0.11163, -0.651662, 2.72305, 2.027356],
    ],
    "intercept": [9.841689, 2.224506, -12.066195],
    "classes": ["setosa", "versicolor", "virginica"],
}
with open("outputs/iris-weights.json", "w") as f:
    json.dump(weights, f)
model = Model.register(ws, model_path="outputs/iris-weights.json", model_name="iris-monitored")

# ---------------------------------------------------------------- the scoring script
# %%writefile score.py
with open("score.py", "w") as f:
    f.write("""
import json

from azureml.core.model import Model
from azureml.monitoring import ModelDataCollector


def init():
    global weights, inputs_dc, prediction_dc
    with open(Model.get_model_path("iris-monitored")) as f:
        weights = json.load(f)
    # this setup will help us save our inputs under the "inputs" path in our Azure Blob
    inputs_dc = ModelDataCollector(
        model_name="iris-monitored",
        designation="inputs",
        feature_names=["sepal_length", "sepal_width", "petal_length", "petal_width"],
    )
    # this setup will help us save our predictions under the "predictions" path in our Azure Blob
    prediction_dc = ModelDataCollector("iris-monitored", designation="predictions",
                                       feature_names=["species"])


def run(raw_data):
    result = []
    for row in json.loads(raw_data)["data"]:
        scores = [sum(w * x for w, x in zip(coef, row)) + bias
                  for coef, bias in zip(weights["coef"], weights["intercept"])]
        label = weights["classes"][scores.index(max(scores))]
        correlations = inputs_dc.collect(row)  # this call saves our input data into our blob
        # and this one our prediction, with the correlation columns of its input
        prediction_dc.collect(prediction_dc.add_correlations([label], correlations))
        result.append(label)
    return result
""")

env = Environment("iris-monitoring-env")
env.python.conda_dependencies = CondaDependencies.create(
    pip_packages=["azureml-defaults", "azureml-monitoring"]
)
inference_config = InferenceConfig(entry_script="score.py", environment=env)

# ---------------------------------------------------------------- deploy to AKS with collection on
prov_config = AksCompute.provisioning_configuration(
    cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST
)
aks_target = ComputeTarget.create(ws, "aks-monitoring", prov_config)
aks_target.wait_for_completion(show_output=True)

aks_config = AksWebservice.deploy_configuration(
    cpu_cores=0.1, memory_gb=0.5, collect_model_data=True, enable_app_insights=True
)
aks_service_name = "iris-monitored-svc"
aks_service = Model.deploy(ws, aks_service_name, [model], inference_config, aks_config, aks_target)
aks_service.wait_for_deployment(show_output=True)
print("Data collection:", aks_service.data_collection.serialize())

# ---------------------------------------------------------------- score a few requests
test_sample = json.dumps({"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]})
for _ in range(3):
    print("Prediction:", aks_service.run(input_data=test_sample))

# ---------------------------------------------------------------- read the collected data
# !amlemu describe services iris-monitored-svc --json
described = subprocess.run(
    [sys.executable, "-m", "emulator", "describe", "services", aks_service_name, "--json"],
    capture_output=True,
    text=True,
    check=True,
)
model_data = json.loads(described.stdout)["modelData"]
for collected in model_data["files"]:
    print("Collected file:", collected["path"], "lines:", collected["lines"])
    with open(os.path.join(model_data["folder"], collected["path"]), newline="") as f:
        rows = list(csv.reader(f))
    print("  header:", rows[0][:5])
    print("  first row:", rows[1][:5])

aks_service.delete()
aks_target.delete()
