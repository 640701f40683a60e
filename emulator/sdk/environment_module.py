"""``azureml.core.environment`` as the shim exports it: the environment classes
(:mod:`emulator.environments.environment`), ``CondaDependencies`` (the SDK's module imports it
too), and what ``build`` / ``get_image_details`` return (built by the v1 face, which may use the
image builders the environment layer must not import)."""

from emulator.environments.conda import CondaDependencies
from emulator.environments.environment import (
    DEFAULT_CPU_IMAGE,
    DEFAULT_GPU_IMAGE,
    ContainerRegistry,
    DockerImagePlatform,
    DockerSection,
    Environment,
    PythonSection,
)
from emulator.sdk.environment_build import DockerImageDetails, ImageBuildDetails

__all__ = [
    "DEFAULT_CPU_IMAGE",
    "DEFAULT_GPU_IMAGE",
    "CondaDependencies",
    "ContainerRegistry",
    "DockerImageDetails",
    "DockerImagePlatform",
    "DockerSection",
    "Environment",
    "ImageBuildDetails",
    "PythonSection",
]
