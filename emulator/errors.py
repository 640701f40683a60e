"""``azureml.exceptions`` for existing imports: the v1 SDK's exception classes.

They live in ``emulator.sdk.exceptions`` (the v1 face); this module re-exports them so that
``from emulator.errors import WebserviceException`` and the shim's ``azureml.exceptions`` keep
working. State raises ``emulator.exceptions`` instead.
"""

from __future__ import annotations

from emulator.sdk.exceptions import (
    AzureMLException,
    ComputeTargetException,
    DatasetTimestampMissingError,
    ModelNotFoundException,
    RunEnvironmentException,
    UserErrorException,
    WebserviceException,
    WorkspaceException,
)

__all__ = [
    "AzureMLException",
    "ComputeTargetException",
    "DatasetTimestampMissingError",
    "ModelNotFoundException",
    "RunEnvironmentException",
    "UserErrorException",
    "WebserviceException",
    "WorkspaceException",
]
