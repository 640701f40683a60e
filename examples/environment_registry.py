"""Environments, SDK v1 style: curated environments, your own registered versions, and a
deployment that uses one (after Microsoft's "using environments" notebook).

Run offline with:  amlemu run examples/environment_registry.py

The workspace lists Azure's curated environments (read-only), a conda specification saved with
``CondaDependencies.save`` becomes a registered environment, a change registers version 2,
``Environment.get`` reads either version back, and an ACI service is deployed with version 2.
The model is a small linear iris classifier stored as JSON, scored in pure Python.
"""

import json
import os

from azureml.core import Environment, Workspace
from azureml.core.conda_dependencies import CondaDependencies
from azureml.core.model import InferenceConfig, Model
from azureml.core.webservice import AciWebservice

# Connect to the workspace (the emulator creates it offline on first use)
ws = Workspace.get(
    name="myworkspace", subscription_id="<azure-subscription-id>", resource_group="myresourcegroup"
)

# ---------------------------------------------------------------- curated environments
# Azure provides curated environments, already built; list them and look at one
envs = Environment.list(workspace=ws)
curated = sorted(name for name in envs if name.startswith("AzureML-"))
print("Curated environments:", len(curated))
for name in curated[:3]:
    print("  ", name)

minimal = Environment.get(workspace=ws, name="AzureML-Minimal")
print("AzureML-Minimal python:", minimal.python.conda_dependencies.get_python_version())
print("AzureML-Minimal pip packages:", list(minimal.python.conda_dependencies.pip_packages))

# Curated environments are read-only: registering one under its own name is refused
try:
    minimal.register(workspace=ws)
except Exception as e:
    print("Cannot register a curated environment:", type(e).__name__)

# ---------------------------------------------------------------- your own environment
# Describe the scoring dependencies as a conda specification and save it next to the notebook
conda_dep = CondaDependencies()
conda_dep.add_pip_package("azureml-defaults")
conda_dep.add_pip_package("inference-schema")
conda_file = conda_dep.save("iris-env.yml")
print("Saved conda specification:", conda_file)

# Create the environment from that file and register it (version 1)
iris_env = Environment.from_conda_specification(name="iris-env", file_path=conda_file)
iris_env.environment_variables = {"IRIS_LABELS": "setosa,versicolor,virginica"}
iris_env = iris_env.register(workspace=ws)
print("Registered:", iris_env.name, "version", iris_env.version)

# Registering the same definition again keeps the version; a change makes version 2
iris_env = Environment.get(workspace=ws, name="iris-env")
iris_env.environment_variables["IRIS_LABELS"] = "Iris-setosa,Iris-versicolor,Iris-virginica"
iris_env.version = None  # let the workspace number the new version
iris_env = iris_env.register(workspace=ws)
print("Registered:", iris_env.name, "version", iris_env.version)

# Read a version back, and see the environment among the workspace's
first = Environment.get(workspace=ws, name="iris-env", version="1")
print("Version 1 labels:", first.environment_variables["IRIS_LABELS"])
print("In ws.environments:", "iris-env" in ws.environments)

# ---------------------------------------------------------------- deploy with it
# The model: a linear classifier's weights, as training would have written them
os.makedirs("outputs", exist_ok=True)
weights = {
    "coef": [
        [-0.420239, 0.966931, -2.518944, -1.084595],
        [0.531869, -0.315269, -0.204106, -0.942762],
        [-0.11163, -0.651662, 2.72305, 2.027356],
    ],
    "intercept": [9.841689, 2.224506, -12.066195],
}
with open("outputs/iris-weights.json", "w") as f:
    json.dump(weights, f)
model = Model.register(workspace=ws, model_path="outputs/iris-weights.json", model_name="iris")

# %%writefile score.py
with open("score.py", "w") as f:
    f.write("""
import json
import os

from azureml.core.model import Model


def init():
    global weights, labels
    with open(Model.get_model_path("iris")) as f:
        weights = json.load(f)
    # the environment's variables reach the scoring container
    labels = os.environ["IRIS_LABELS"].split(",")


def run(raw_data):
    result = []
    for row in json.loads(raw_data)["data"]:
        scores = [sum(w * x for w, x in zip(coef, row)) + bias
                  for coef, bias in zip(weights["coef"], weights["intercept"])]
        result.append(labels[scores.index(max(scores))])
    return result
""")

inference_config = InferenceConfig(entry_script="score.py", environment=iris_env)
aci_config = AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1)
service = Model.deploy(ws, "iris-env-svc", [model], inference_config, aci_config)
service.wait_for_deployment(show_output=True)
print("Service state:", service.state)
print("Service environment:", service.environment.name, "version", service.environment.version)

# The labels come from version 2's IRIS_LABELS variable: the service runs that version
sample = json.dumps({"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]})
print("Predictions:", service.run(sample))

service.delete()
