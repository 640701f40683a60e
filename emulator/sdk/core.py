"""What ``import azureml.core`` offers: the top-level classes and ``VERSION``."""

from emulator._version import SDK_VERSION as VERSION
from emulator.environments.environment import Environment
from emulator.sdk.compute import ComputeTarget
from emulator.sdk.image import Image
from emulator.sdk.model import Model
from emulator.sdk.webservice import Webservice
from emulator.sdk.workspace import Workspace

__all__ = ["VERSION", "ComputeTarget", "Environment", "Image", "Model", "Webservice", "Workspace"]
