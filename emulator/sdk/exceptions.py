"""Exception classes with the names and shapes of ``azureml.exceptions``: the v1 face's errors.

User code catches these by the SDK's names, so the hierarchy mirrors the SDK: every error
derives from :class:`AzureMLException` and carries ``.message``. State raises the neutral
errors of ``emulator.exceptions``; the v1 faces turn them into these at their boundary
(``emulator.sdk.translation``).
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

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


class AzureMLException(Exception):
    """Base of every emulator error; ``message`` holds the text as the SDK exposes it.

    The constructor is the SDK's (azureml-core 1.61, ``azureml._common.exceptions``):
    ``inner_exception``, ``target`` and ``details`` are kept, the deprecated formatting
    parameters accepted and ignored, as the SDK does; ``print_stacktrace()`` prints the
    exception that was being handled when this one was made.
    """

    def __init__(
        self,
        exception_message: str,
        inner_exception: object = None,
        target: str | None = None,
        details: list[str] | None = None,
        message_format: str | None = None,
        message_parameters: dict[str, str] | None = None,
        reference_code: str | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(exception_message)
        self.message = exception_message
        self.inner_exception = inner_exception
        self._target = target
        self._details = details
        self._exc_info = sys.exc_info()

    def print_stacktrace(self) -> None:
        """Print the traceback of the exception being handled when this one was raised."""
        if self._exc_info[0] is not None:
            traceback.print_exception(*self._exc_info)

    def __str__(self) -> str:
        return self.message


class UserErrorException(AzureMLException):
    """A problem with what the caller passed in."""


class DatasetTimestampMissingError(AzureMLException):
    """A time-series call on a tabular dataset without timestamp columns (the SDK's text)."""

    def __init__(self, error_details: str, **kwargs: Any) -> None:
        super().__init__(f"Activity Failed:\n{error_details}", **kwargs)


class WebserviceException(AzureMLException):
    """Errors of the model-management service (models, images, services)."""

    def __init__(
        self,
        exception_message: str,
        status_code: int | None = None,
        logger: object = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(exception_message, **kwargs)
        self.status_code = status_code


class ModelNotFoundException(AzureMLException):
    """Raised by ``Model.get_model_path`` when a model cannot be found."""

    def __init__(self, exception_message: str, logger: object = None, **kwargs: Any) -> None:
        super().__init__(exception_message, **kwargs)


class WorkspaceException(AzureMLException):
    """Workspace lookup or creation failed. ``found_multiple`` (the SDK's): the name matched
    several workspaces; ``found`` (an emulator addition, passed as a keyword): False when the
    workspace does not exist."""

    def __init__(self, exception_message: str, found_multiple: bool = False, **kwargs: Any) -> None:
        found = bool(kwargs.pop("found", True))
        super().__init__(exception_message, **kwargs)
        self.found_multiple = found_multiple
        self.found = found


class ComputeTargetException(AzureMLException):
    """Errors of compute targets (provisioning, attach, lookup)."""


class RunEnvironmentException(AzureMLException):
    """Raised when code asks for a run context outside a submitted run (the SDK's fixed text)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            "Could not load a submitted run, if outside of an execution context, use "
            "experiment.start_logging to initialize an azureml.core.Run.",
            **kwargs,
        )
