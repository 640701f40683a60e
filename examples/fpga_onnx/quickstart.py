"""Microsoft's accelerated-models (FPGA) quickstart, deploy and scoring cells, on the ONNX stand-in.

Run offline with:  amlemu run examples/fpga_onnx/quickstart.py

The quickstart's TensorFlow ResNet-50 featurizer is replaced by a scikit-learn classifier; the
rest is the quickstart's code: convert the registered model with AccelOnnxConverter, build an
AccelContainerImage, provision a Standard_PB6s (FPGA) AKS cluster, deploy, score over gRPC with
PredictionClient (the address cut from the scoring URI, as the quickstart does, and with
client_from_service), then clean up. The emulator's own checks compare gRPC, HTTP /score and
the scikit-learn original.
"""

# ruff: noqa: E402  (imports stay in the quickstart's cells)

import json
import os

import joblib
import numpy as np
from azureml.core import Workspace
from azureml.core.model import Model
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

ws = Workspace.get(name="myworkspace", subscription_id="<sub>", resource_group="myrg")

# The model (the quickstart builds a TensorFlow featurizer + classifier here).
X, y = load_iris(return_X_y=True)
classifier = LogisticRegression(max_iter=500).fit(X, y)
os.makedirs("outputs", exist_ok=True)
joblib.dump(classifier, "outputs/iris.pkl")
model_name = "iris-fpga"
input_tensors = "images"
output_tensors = "probabilities"
registered_model = Model.register(
    workspace=ws, model_path="outputs/iris.pkl", model_name=model_name
)

# Convert the model (the stand-in converts scikit-learn models to ONNX and checks parity).
from azureml.accel import AccelOnnxConverter

convert_request = AccelOnnxConverter.convert_tf_model(
    ws, registered_model, input_tensors, output_tensors
)
# If it fails, you can run wait_for_completion again with show_output=True.
convert_request.wait_for_completion(show_output=False)
# If the above call succeeded, get the converted model
converted_model = convert_request.result
print(
    "\nSuccessfully converted: ",
    converted_model.name,
    converted_model.url,
    converted_model.version,
    converted_model.id,
    converted_model.created_time,
    "\n",
)

# Create a container image from the model.
from azureml.accel import AccelContainerImage
from azureml.core.image import Image

image_config = AccelContainerImage.image_configuration()
# Image name must be lowercase
image_name = f"{model_name}-image"

image = Image.create(
    name=image_name, models=[converted_model], image_config=image_config, workspace=ws
)
image.wait_for_creation(show_output=False)

# Create a Kubernetes cluster with FPGA nodes.
from azureml.core.compute import AksCompute, ComputeTarget

# Specify the Standard_PB6s Azure VM and location. Values for location may be "eastus",
# "southeastasia", "westeurope", or "westus2".
prov_config = AksCompute.provisioning_configuration(
    vm_size="Standard_PB6s", agent_count=1, location="eastus"
)

aks_name = "my-aks-pb6"
# Create the cluster
aks_target = ComputeTarget.create(
    workspace=ws, name=aks_name, provisioning_configuration=prov_config
)
aks_target.wait_for_completion(show_output=True)
print(aks_target.provisioning_state)
print(aks_target.provisioning_errors)

# Deploy the image as a web service to the cluster.
from azureml.core.webservice import AksWebservice, Webservice

# For this deployment, set the web service configuration without enabling auto-scaling or
# authentication for testing
aks_config = AksWebservice.deploy_configuration(
    autoscale_enabled=False, num_replicas=1, auth_enabled=False
)

aks_service_name = "my-aks-service-1"

aks_service = Webservice.deploy_from_image(
    workspace=ws,
    name=aks_service_name,
    image=image,
    deployment_config=aks_config,
    deployment_target=aks_target,
)
aks_service.wait_for_deployment(show_output=True)
print(aks_service.state)

# Test the cloud service: the gRPC client of the Azure ML Accelerated Models SDK.
from azureml.accel import PredictionClient

address = aks_service.scoring_uri
ssl_enabled = address.startswith("https")
address = address[address.find("/") + 2 :].strip("/")
port = 443 if ssl_enabled else 80

# Initialize Azure ML Accelerated Models client
client = PredictionClient(
    address=address, port=port, use_ssl=ssl_enabled, service_name=aks_service.name
)

# Score a few rows (the quickstart scores an image file with client.score_file).
rows = X[::50].astype(np.float32)
results = client.score_numpy_arrays({input_tensors: rows}, outputs=output_tensors)
print("gRPC probabilities:", np.round(results.astype(float), 3).tolist())

# The newer quickstart's one-liner reaches the same service.
from azureml.accel import client_from_service

same = client_from_service(aks_service).score_numpy_arrays({input_tensors: rows})
http = aks_service.run(json.dumps({"data": rows.tolist(), "output_filter": [output_tensors]}))
original = classifier.predict_proba(rows)
assert np.allclose(results, same) and np.allclose(results, http["outputs"], atol=1e-6)
assert np.allclose(results, original, atol=1e-5)
print("gRPC and HTTP agree with the scikit-learn original")

# Clean up.
aks_service.delete()
aks_target.delete()
image.delete()
converted_model.delete()
registered_model.delete()
