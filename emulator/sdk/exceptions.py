"""Exception classes with the names and shapes of ``azureml.exceptions``: the v1 face's errors.

User code catches these by the SDK's names, so the hierarchy mirrors the SDK: every error
derives from :class:`AzureMLException` and carries ``.message``. State raises the neutral
errors of ``emulator.exceptions``; the v1 faces turn them into these at their boundary
(``emulator.sdk.translation``).
"""

from __future__ import annotations

__all__ = [
    "AzureMLException",
    "ComputeTargetException",
    "ModelNotFoundException",
    "RunEnvironmentException",
    "UserErrorException",
    "WebserviceException",
    "WorkspaceException",
]


class AzureMLException(Exception):
    """Base of every emulator error; ``message`` holds the text as the SDK exposes it."""

    def __init__(self, exception_message: str, *args: object, **kwargs: object) -> None:
        super().__init__(exception_message, *args)
        self.message = exception_message

    def __str__(self) -> str:
        return self.message


class UserErrorException(AzureMLException):
    """A problem with what the caller passed in."""


class WebserviceException(AzureMLException):
    """Errors of the model-management service (models, images, services)."""

    def __init__(
        self, exception_message: str, status_code: int | None = None, logger: object = None
    ) -> None:
        super().__init__(exception_message)
        self.status_code = status_code


class ModelNotFoundException(AzureMLException):
    """Raised by ``Model.get_model_path`` when a model cannot be found."""

    def __init__(self, exception_message: str, logger: object = None) -> None:
        super().__init__(exception_message)


class WorkspaceException(AzureMLException):
    """Workspace lookup or creation failed; ``found`` is False when it does not exist."""

    def __init__(self, exception_message: str, found: bool = True) -> None:
        super().__init__(exception_message)
        self.found = found


class ComputeTargetException(AzureMLException):
    """Errors of compute targets (provisioning, attach, lookup)."""


class RunEnvironmentException(AzureMLException):
    """Raised when code asks for a run context outside a submitted run."""
