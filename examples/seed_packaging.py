"""The seed notebook's registration and packaging cells, unchanged (run with `amlemu run`).

Expects model.pkl and scoring_service.py in the working directory.
"""

from azureml.core import Workspace
from azureml.core.model import Model

ws = Workspace.get(
    name="myworkspace",
    subscription_id="<azure-subscription-id>",
    resource_group="myresourcegroup",
)
model = Model.register(
    model_path="model.pkl",
    model_name="nyc-taxi-automl-predictor",
    tags={"area": "auto", "type": "regression"},
    description="NYC Taxi Fare Predictor",
    workspace=ws,
)

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

print(image.image_build_log_uri)
print(ws.images["nyc-taxi-automl-image"].image_build_log_uri)
for name, img in ws.images.items():
    print(name, img.version, img.image_build_log_uri)
