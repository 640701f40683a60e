"""Controlled rollout on AKS, SDK v1 style: one endpoint, two versions, traffic split by
percentile (after Microsoft's "deploy AKS with controlled rollout" notebook).

Run offline with:  amlemu run examples/aks_controlled_rollout.py

Version A serves the first model, version B a retrained one; B starts with 10 % of the
traffic, becomes the default control version at 40 %, and A is deleted. Each step scores the
endpoint twenty times and counts which version answered. The model is a small linear iris
classifier stored as JSON, scored in pure Python.
"""

import json
import os
from collections import Counter

from azureml.core import Environment, Workspace
from azureml.core.compute import AksCompute, ComputeTarget
from azureml.core.conda_dependencies import CondaDependencies
from azureml.core.model import InferenceConfig, Model
from azureml.core.webservice import AksEndpoint

ws = Workspace.get(
    name="myworkspace", subscription_id="<azure-subscription-id>", resource_group="myresourcegroup"
)

# ---------------------------------------------------------------- two model versions
os.makedirs("outputs", exist_ok=True)
coef = [
    [-0.420239, 0.966931, -2.518944, -1.084595],
    [0.531869, -0.315269, -0.204106, -0.942762],
    [-0.11163, -0.651662, 2.72305, 2.027356],
]
with open("outputs/iris-weights.json", "w") as f:
    json.dump({"trained": "first", "coef": coef, "intercept": [9.84, 2.22, -12.07]}, f)
first_model = Model.register(ws, model_path="outputs/iris-weights.json", model_name="iris-rollout")

# ... and after retraining, version 2 of the same model
with open("outputs/iris-weights.json", "w") as f:
    json.dump({"trained": "retrained", "coef": coef, "intercept": [9.5, 2.6, -12.1]}, f)
retrained_model = Model.register(
    ws, model_path="outputs/iris-weights.json", model_name="iris-rollout"
)
print("Model versions:", first_model.version, retrained_model.version)

# %%writefile score.py
with open("score.py", "w") as f:
    f.write("""
import json
import os

weights = None


def init():
    global weights
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "iris-weights.json")) as f:
        weights = json.load(f)


def run(raw_data):
    predictions = []
    for row in json.loads(raw_data)["data"]:
        scores = [sum(w * x for w, x in zip(coef, row)) + bias
                  for coef, bias in zip(weights["coef"], weights["intercept"])]
        predictions.append(scores.index(max(scores)))
    return {"model": weights["trained"], "predictions": predictions}
""")

env = Environment("iris-rollout-env")
env.python.conda_dependencies = CondaDependencies.create(pip_packages=["azureml-defaults"])
inference_config = InferenceConfig(entry_script="score.py", environment=env)

# ---------------------------------------------------------------- the AKS cluster
prov_config = AksCompute.provisioning_configuration(
    cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST
)
compute = ComputeTarget.create(
    workspace=ws, name="aks-rollout", provisioning_configuration=prov_config
)
compute.wait_for_completion(show_output=True)

# ---------------------------------------------------------------- the endpoint, version A
endpoint_name = "iris-endpoint"
version_name = "versiona"
endpoint_deployment_config = AksEndpoint.deploy_configuration(
    cpu_cores=0.1,
    memory_gb=0.2,
    tags={"sklearn": "demo"},
    description="testing versions",
    version_name=version_name,
    traffic_percentile=20,
)
endpoint = Model.deploy(
    ws, endpoint_name, [first_model], inference_config, endpoint_deployment_config, compute
)
endpoint.wait_for_deployment(True)

test_sample = json.dumps({"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]})
print("Prediction:", endpoint.run(input_data=test_sample))


def traffic(endpoint, requests=20):
    """Score the endpoint and count which model answered."""
    return dict(Counter(endpoint.run(test_sample)["model"] for _ in range(requests)))


print("Traffic with version A alone:", traffic(endpoint))

# ---------------------------------------------------------------- add version B at 10 %
version_name_add = "versionb"
endpoint.create_version(
    version_name=version_name_add,
    inference_config=inference_config,
    models=[retrained_model],
    tags={"modelVersion": "b"},
    description="my second version",
    traffic_percentile=10,
)
endpoint.wait_for_deployment(True)
for name, version in endpoint.versions.items():
    print(f"  {name}: {version.traffic_percentile}% default={version.is_default}")
print("Traffic with B at 10%:", traffic(endpoint))

# ---------------------------------------------------------------- B becomes the control at 40 %
endpoint.update_version(
    version_name=endpoint.versions[version_name_add].name,
    description="my second version update",
    traffic_percentile=40,
    is_default=True,
    is_control_version_type=True,
)
endpoint.wait_for_deployment(True)
version_b = endpoint.versions[version_name_add]
print("Version B:", version_b.version_type, "default:", version_b.is_default)
print("Traffic with B at 40% and default:", traffic(endpoint))

# ---------------------------------------------------------------- retire version A
endpoint.delete_version(version_name=version_name)
endpoint.wait_for_deployment(True)
print("Versions left:", list(endpoint.versions))
print("Traffic after deleting A:", traffic(endpoint))

endpoint.delete()
compute.delete()
