"""``azureml.core.runconfig``: the environment pieces deployment code imports from it.

The SDK's module re-exports the environment classes and default images next to the training
run configuration; deployment notebooks import ``CondaDependencies`` and ``DEFAULT_CPU_IMAGE``
from here. ``RunConfiguration`` (training runs on compute targets) is not emulated: the
emulator serves models, it runs no training jobs.
"""

from emulator.environments.conda import CondaDependencies
from emulator.environments.environment import (
    DEFAULT_CPU_IMAGE,
    DEFAULT_GPU_IMAGE,
    ContainerRegistry,
    DockerSection,
    Environment,
    PythonSection,
)

__all__ = [
    "DEFAULT_CPU_IMAGE",
    "DEFAULT_GPU_IMAGE",
    "CondaDependencies",
    "ContainerRegistry",
    "DockerSection",
    "Environment",
    "PythonSection",
]
