"""azureml-emulator: Azure Machine Learning (SDK v1) deployments, offline.

The SDK-shaped classes are importable from here; :func:`activate` or :func:`mock_aml` make
unchanged ``from azureml.core import ...`` code use them.
"""

from emulator._version import __version__
from emulator.activation import mock_aml
from emulator.environments import CondaDependencies, Environment
from emulator.sdk.model import Model
from emulator.sdk.workspace import Workspace
from emulator.shim import activate, deactivate, is_active

__all__ = [
    "CondaDependencies",
    "Environment",
    "Model",
    "Workspace",
    "__version__",
    "activate",
    "deactivate",
    "is_active",
    "mock_aml",
]
