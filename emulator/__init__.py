"""azureml-emulator: Azure Machine Learning (SDK v1) deployments, offline.

The SDK-shaped classes are importable from here; :func:`activate` or :func:`mock_aml` make
unchanged ``from azureml.core import ...`` code use them. The web service, image, compute and
HTTP mock classes load on first use, and so do the others: every replica's scoring server and
worker processes import the package (``python -m emulator serve``), and what they import they
each hold in memory, so ``import emulator`` loads nothing but the version.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from emulator._version import __version__

if TYPE_CHECKING:
    from emulator.activation import activate_both as activate
    from emulator.activation import deactivate_both as deactivate
    from emulator.activation import mock_aml
    from emulator.environments import CondaDependencies, Environment
    from emulator.mock.azure import AzureMock
    from emulator.sdk.compute import AksCompute, ComputeTarget
    from emulator.sdk.image import ContainerImage, Image
    from emulator.sdk.inference_config import InferenceConfig
    from emulator.sdk.model import Model
    from emulator.sdk.webservice import (
        AciWebservice,
        AksWebservice,
        LocalWebservice,
        Webservice,
    )
    from emulator.sdk.workspace import Workspace
    from emulator.shim import is_active

#: Public name → the module that defines it (and its name there, when it differs), imported when
#: the name is first read.
_ON_FIRST_USE: dict[str, tuple[str, str]] = {
    "AciWebservice": ("emulator.sdk.webservice", "AciWebservice"),
    "AksCompute": ("emulator.sdk.compute", "AksCompute"),
    "AksWebservice": ("emulator.sdk.webservice", "AksWebservice"),
    "AzureMock": ("emulator.mock.azure", "AzureMock"),
    "ComputeTarget": ("emulator.sdk.compute", "ComputeTarget"),
    "CondaDependencies": ("emulator.environments", "CondaDependencies"),
    "ContainerImage": ("emulator.sdk.image", "ContainerImage"),
    "Environment": ("emulator.environments", "Environment"),
    "Image": ("emulator.sdk.image", "Image"),
    "InferenceConfig": ("emulator.sdk.inference_config", "InferenceConfig"),
    "LocalWebservice": ("emulator.sdk.webservice", "LocalWebservice"),
    "Model": ("emulator.sdk.model", "Model"),
    "Webservice": ("emulator.sdk.webservice", "Webservice"),
    "Workspace": ("emulator.sdk.workspace", "Workspace"),
    "activate": ("emulator.activation", "activate_both"),
    "deactivate": ("emulator.activation", "deactivate_both"),
    "is_active": ("emulator.shim", "is_active"),
    "mock_aml": ("emulator.activation", "mock_aml"),
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
    where = _ON_FIRST_USE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = where
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # the next read is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
