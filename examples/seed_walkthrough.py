"""The seed document's notebook, end to end: register, package, deploy to ACI and AKS, score.

Run offline with:  amlemu run examples/seed_walkthrough.py [MODEL_FILE]

The notebook's cells are kept as written, with two substitutions (both marked below):
- the model is a local file (default: a stand-in built by fixtures/models/build_nyc_taxi.py)
  instead of a blob download;
- the scoring script loads it with ``import joblib``: ``sklearn.externals.joblib`` no longer
  exists in scikit-learn, and the emulator shows what the unchanged line does (init() prints
  the ImportError and every prediction is an error string) just as Azure would.
"""

import os
import sys

import azureml.core
from azureml.core import Workspace
from azureml.core.image import Image
from azureml.core.model import Model
from azureml.core.webservice import AksWebservice, Webservice

print("Azure ML SDK version:", azureml.core.VERSION)

ws = Workspace.get(
    name="myworkspace", subscription_id="<azure-subscription-id>", resource_group="myresourcegroup"
)

# [substitution 1] a local model file instead of urllib.request.urlretrieve(model_url, ...)
model_path = sys.argv[1] if len(sys.argv) > 1 else "./automl-model/model.pkl"
if not os.path.exists(model_path):
    import importlib.util

    builder = os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "models", "build_nyc_taxi.py"
    )
    spec = importlib.util.spec_from_file_location("build_nyc_taxi", builder)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from pathlib import Path

    module.build(Path(model_path))

# register the model for deployment
model = Model.register(
    model_path=model_path,  # this points to a local file
    model_name="nyc-taxi-automl-predictor",  # name the model is registered as
    tags={"area": "auto", "type": "regression"},
    description="NYC Taxi Fare Predictor",
    workspace=ws,
)

print()
print(
    f"Model registered: {model.name} \nModel Description: {model.description} \nModel Version: {model.version}"
)

# %%writefile scoring_service.py  ([substitution 2] import joblib)
with open("scoring_service.py", "w") as f:
    f.write("""
import json
import numpy as np
import azureml.train.automl as AutoML

columns = ['vendorID', 'passengerCount', 'tripDistance', 'hour_of_day', 'day_of_week', 'day_of_month',
           'month_num', 'normalizeHolidayName', 'isPaidTimeOff', 'snowDepth', 'precipTime',
           'precipDepth', 'temperature']

def init():
    try:
        # One-time initialization of predictive model and scaler
        from azureml.core.model import Model
        import joblib
        global model

        model_name = 'nyc-taxi-automl-predictor'
        print('Looking for model path for model: ', model_name)
        model_path = Model.get_model_path(model_name=model_name)
        print('Looking for model in: ', model_path)
        model = joblib.load(model_path)
        print('Model loaded...')

    except Exception as e:
        print('Exception during init: ', str(e))

def run(input_json):
    try:
        inputs = json.loads(input_json)
        # Get the predictions...
        prediction = model.predict(np.array(inputs).reshape(-1, len(columns))).tolist()
        prediction = json.dumps(prediction)
    except Exception as e:
        prediction = str(e)
    return prediction
""")

# create a Conda dependencies environment file
print("Creating conda dependencies file locally...")
from azureml.core.conda_dependencies import CondaDependencies

conda_packages = ["numpy", "scikit-learn"]
pip_packages = ["azureml-sdk[automl]"]
mycondaenv = CondaDependencies.create(conda_packages=conda_packages, pip_packages=pip_packages)

conda_file = "automl_dependencies.yml"
with open(conda_file, "w") as f:
    f.write(mycondaenv.serialize_to_string())

runtime = "python"

# create container image configuration
print("Creating container image configuration...")
from azureml.core.image import ContainerImage

image_config = ContainerImage.image_configuration(
    execution_script="scoring_service.py", runtime=runtime, conda_file=conda_file
)

# create the image
image_name = "nyc-taxi-automl-image"

from azureml.core import Image

image = Image.create(name=image_name, models=[model], image_config=image_config, workspace=ws)

# wait for image creation to finish
image.wait_for_creation(show_output=True)

# ---------------------------------------------------------------- deploy to ACI
from azureml.core.webservice import AciWebservice, Webservice

aci_name = "automl-aci-cluster01"

aci_config = AciWebservice.deploy_configuration(
    cpu_cores=1,
    memory_gb=1,
    tags={"name": aci_name},
    description="NYC Taxi Fare Predictor Web Service",
)

service_name = "nyc-taxi-automl-service"

aci_service = Webservice.deploy_from_image(
    deployment_config=aci_config, image=image, name=service_name, workspace=ws
)

aci_service.wait_for_deployment(show_output=True)

import json

data1 = [1, 2, 5, 9, 4, 27, 5, "Memorial Day", True, 0, 0.0, 0.0, 65]

data2 = [
    [1, 3, 10, 15, 4, 27, 7, "None", False, 0, 2.0, 1.0, 80],
    [1, 2, 5, 9, 4, 27, 5, "Memorial Day", True, 0, 0.0, 0.0, 65],
]

result = aci_service.run(json.dumps(data1))
print("Predictions for data1")
print(result)

result = aci_service.run(json.dumps(data2))
print("Predictions for data2")
print(result)

import requests

url = aci_service.scoring_uri
print(f"ACI Service: {service_name} scoring URI is: {url}")
headers = {"Content-Type": "application/json"}

response = requests.post(url, json.dumps(data1), headers=headers)
print("Predictions for data1")
print(response.text)
response = requests.post(url, json.dumps(data2), headers=headers)
print("Predictions for data2")
print(response.text)

# ---------------------------------------------------------------- deploy to AKS
from azureml.core.compute import AksCompute, ComputeTarget

# Use the default configuration, but set the cluster_purpose to DEV_TEST
prov_config = AksCompute.provisioning_configuration(
    cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST
)

aks_name = "amldev-aks"
# Create the cluster
aks_target = ComputeTarget.create(
    workspace=ws, name=aks_name, provisioning_configuration=prov_config
)

# Wait for the create process to complete
aks_target.wait_for_completion(show_output=True)

from azureml.core.webservice import AksWebservice, Webservice

aks_service_name = "nyc-taxi-automl-service-aks"

aks_config = AksWebservice.deploy_configuration(
    cpu_cores=1, memory_gb=1, description="NYC Taxi Fare Predictor Web Service (AKS)"
)

aks_service = Webservice.deploy_from_image(
    deployment_config=aks_config,
    deployment_target=aks_target,
    image=image,
    name=aks_service_name,
    workspace=ws,
)

aks_service.wait_for_deployment(show_output=True)
print(aks_service.state)
print(aks_service.get_logs())

headers = {"Content-Type": "application/json"}

if aks_service.auth_enabled:
    headers["Authorization"] = "Bearer " + aks_service.get_keys()[0]

print(headers)

url = aks_service.scoring_uri
print(f"AKS Service: {aks_service_name} scoring URI is: {url}")

response = requests.post(url, json.dumps(data1), headers=headers)
print("Predictions for data1")
print(response.text)
response = requests.post(url, json.dumps(data2), headers=headers)
print("Predictions for data2")
print(response.text)
