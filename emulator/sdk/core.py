"""What ``import azureml.core`` offers: the top-level classes and ``VERSION``."""

from emulator._version import SDK_VERSION as VERSION
from emulator.environments.environment import Environment
from emulator.sdk.compute import ComputeTarget
from emulator.sdk.dataset import Dataset
from emulator.sdk.datastore import Datastore
from emulator.sdk.image import Image
from emulator.sdk.model import Model
from emulator.sdk.webservice import Webservice
from emulator.sdk.workspace import Workspace

__all__ = [
    "VERSION",
    "ComputeTarget",
    "Dataset",
    "Datastore",
    "Environment",
    "Image",
    "Model",
    "Webservice",
    "Workspace",
]
