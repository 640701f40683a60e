"""azureml-emulator: Azure Machine Learning (SDK v1) deployments, offline.

The SDK-shaped classes are importable from here; :func:`activate` or :func:`mock_aml` make
unchanged ``from azureml.core import ...`` code use them. The web service, image, compute and
HTTP mock classes load on first use: ``import emulator`` (scoring workers do it) stays free of
the gateways, the runtime and ``responses``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from emulator._version import __version__
from emulator.activation import activate_both as activate
from emulator.activation import deactivate_both as deactivate
from emulator.activation import mock_aml
from emulator.environments import CondaDependencies, Environment
from emulator.sdk.model import Model
from emulator.sdk.workspace import Workspace
from emulator.shim import is_active

if TYPE_CHECKING:
    from emulator.mock.azure import AzureMock
    from emulator.sdk.compute import AksCompute, ComputeTarget
    from emulator.sdk.image import ContainerImage, Image
    from emulator.sdk.inference_config import InferenceConfig
    from emulator.sdk.webservice import (
        AciWebservice,
        AksWebservice,
        LocalWebservice,
        Webservice,
    )

#: Public name → the module that defines it, imported when the name is first read.
_ON_FIRST_USE = {
    "AciWebservice": "emulator.sdk.webservice",
    "AksCompute": "emulator.sdk.compute",
    "AksWebservice": "emulator.sdk.webservice",
    "AzureMock": "emulator.mock.azure",
    "ComputeTarget": "emulator.sdk.compute",
    "ContainerImage": "emulator.sdk.image",
    "Image": "emulator.sdk.image",
    "InferenceConfig": "emulator.sdk.inference_config",
    "LocalWebservice": "emulator.sdk.webservice",
    "Webservice": "emulator.sdk.webservice",
}

__all__ = [
    "AciWebservice",
    "AksCompute",
    "AksWebservice",
    "AzureMock",
    "ComputeTarget",
    "CondaDependencies",
    "ContainerImage",
    "Environment",
    "Image",
    "InferenceConfig",
    "LocalWebservice",
    "Model",
    "Webservice",
    "Workspace",
    "__version__",
    "activate",
    "deactivate",
    "is_active",
    "mock_aml",
]


def __getattr__(name: str) -> Any:
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
