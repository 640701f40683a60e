"""Datasets for deployment, SDK v1 style: upload to the default datastore, tabular datasets,
a model registered with its sample data and resources, and ``Model.profile`` fed by a dataset
(after Microsoft's "register model and deploy" notebook).

Run offline with:  amlemu run examples/datasets_and_profile.py

``to_pandas_dataframe()`` needs pandas; without it the notebook prints the SDK's message naming
the fix and goes on (nothing else here needs pandas). The model is a small linear iris
classifier stored as JSON, scored in pure Python.
"""

import csv
import json
import os

from azureml.core import Dataset, Datastore, Environment, Workspace
from azureml.core.conda_dependencies import CondaDependencies
from azureml.core.model import InferenceConfig, Model
from azureml.core.resource_configuration import ResourceConfiguration

ws = Workspace.get(
    name="myworkspace", subscription_id="<azure-subscription-id>", resource_group="myresourcegroup"
)

# ---------------------------------------------------------------- data to the datastore
# A few iris measurements and their labels, written as CSV files
features = [
    [5.1, 3.5, 1.4, 0.2],
    [4.9, 3.0, 1.4, 0.2],
    [7.0, 3.2, 4.7, 1.4],
    [6.4, 3.2, 4.5, 1.5],
    [6.3, 3.3, 6.0, 2.5],
    [5.8, 2.7, 5.1, 1.9],
]
labels = ["setosa", "setosa", "versicolor", "versicolor", "virginica", "virginica"]
os.makedirs("iris-data", exist_ok=True)
with open("iris-data/features.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["sepal_length", "sepal_width", "petal_length", "petal_width"])
    writer.writerows(features)
with open("iris-data/labels.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["species"])
    writer.writerows([label] for label in labels)

# Upload the folder to the workspace's default datastore
datastore = ws.get_default_datastore()
print("Default datastore:", datastore.name)
datastore.upload(src_dir="iris-data", target_path="iris", overwrite=True, show_progress=False)

# ---------------------------------------------------------------- tabular datasets
input_dataset = Dataset.Tabular.from_delimited_files(path=[(datastore, "iris/features.csv")])
output_dataset = Dataset.Tabular.from_delimited_files(path=[(datastore, "iris/labels.csv")])
input_dataset = input_dataset.register(workspace=ws, name="iris-features", create_new_version=True)
print("Registered dataset:", input_dataset.name, "version", input_dataset.version)

# Read it back by name, as another notebook would
iris_features = Dataset.get_by_name(ws, name="iris-features")
try:
    df = iris_features.to_pandas_dataframe()
    print("First rows:")
    print(df.head(3))
except ImportError as e:
    print("to_pandas_dataframe:", e)

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

model = Model.register(
    workspace=ws,
    model_name="iris-linear",
    model_path="outputs/iris-weights.json",
    sample_input_dataset=input_dataset,
    sample_output_dataset=output_dataset,
    resource_configuration=ResourceConfiguration(cpu=1, memory_in_gb=0.5),
    description="Linear iris classifier",
    tags={"area": "iris", "type": "classification"},
)
print("Model:", model.name, "version", model.version)
print("Sample input dataset:", model.sample_input_dataset.name)
print("Resource configuration:", model.resource_configuration.serialize())

# ---------------------------------------------------------------- profile it
# %%writefile score.py
with open("score.py", "w") as f:
    f.write("""
import json

from azureml.core.model import Model


def init():
    global weights
    with open(Model.get_model_path("iris-linear")) as f:
        weights = json.load(f)


def run(raw_data):
    result = []
    for row in json.loads(raw_data)["data"]:
        scores = [sum(w * x for w, x in zip(coef, row)) + bias
                  for coef, bias in zip(weights["coef"], weights["intercept"])]
        result.append(weights["classes"][scores.index(max(scores))])
    return result
""")

# Profiling sends requests from a dataset with one request body per line
request = json.dumps({"data": features})
with open("sample_request_data.txt", "w") as f:
    f.write("\n".join([request] * 20))
datastore = Datastore.get_default(ws)
datastore.upload_files(
    ["./sample_request_data.txt"], target_path="sample_request_data", show_progress=False
)
sample_request_data = Dataset.Tabular.from_delimited_files(
    [(datastore, "sample_request_data/sample_request_data.txt")], separator="\n", header=False
)
sample_request_data = sample_request_data.register(
    workspace=ws, name="sample_request_data", create_new_version=True
)

env = Environment("iris-profile-env")
env.python.conda_dependencies = CondaDependencies.create(pip_packages=["azureml-defaults"])
inference_config = InferenceConfig(entry_script="score.py", environment=env)

profile = Model.profile(
    ws, "iris-profile", [model], inference_config, input_dataset=sample_request_data
)
profile.wait_for_completion(True)
details = profile.get_details()
print("Profile state:", details["state"])
print(
    "Recommended cpu:", details["recommendedCpu"], "memory (GB):", details["recommendedMemoryInGB"]
)
