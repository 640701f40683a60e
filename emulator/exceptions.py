"""The errors state raises, in no face's vocabulary.

State (models, images, compute, runtime, services) speaks to several faces: the v1 SDK's
classes, the CLI, the portal and an ARM REST face. So it raises these, not the v1 SDK's
exception classes: each carries what every face needs to render it.

- ``code``: machine-readable, as Azure Resource Manager names it in ``{"error": {"code"}}``
  (``BadArgument``, ``NotFound``, ``Conflict``, ``QuotaExceeded``, ...);
- ``message``: Azure's text, with the ``[emulator]`` hint where there is one;
- ``status``: the HTTP status Azure answers with, or ``None`` where no HTTP call fails
  (a local lookup, the emulator's own settings, a container that would not start).

The class says what kind of problem it is (the v1 face picks its exception class by it, see
``emulator/sdk/translation.py``); ``code`` and ``status`` may be overridden per error, as Azure's
codes are finer than the classes. Like ``moto``'s exceptions, these import nothing from a face.
"""

from __future__ import annotations

__all__ = [
    "BadArgument",
    "ComputeError",
    "Conflict",
    "EmulatorError",
    "InvalidSetting",
    "ModelPathNotFound",
    "NotFound",
    "OperationFailed",
]


class EmulatorError(Exception):
    """Base of every error state raises; ``str()`` is the message."""

    code: str = "InternalServerError"
    status: int | None = None

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        # instance attributes override the class defaults: Azure's codes are finer than classes
        self.code = code or type(self).code
        self.status = status if status is not None else type(self).status

    def __str__(self) -> str:
        return self.message

    def to_arm(self) -> dict[str, dict[str, str]]:
        """The body ARM answers this error with: ``{"error": {"code", "message"}}``."""
        return {"error": {"code": self.code, "message": self.message}}


class BadArgument(EmulatorError):
    """What the caller asked for is refused (a name, a value, a state that forbids it)."""

    code = "BadArgument"
    status: int | None = 400


class NotFound(EmulatorError):
    """The resource the caller names does not exist (any more)."""

    code = "NotFound"
    status: int | None = 404


class ModelPathNotFound(NotFound):
    """``get_model_path``: a model is neither laid out under the models directory nor in the
    working directory. A local lookup, so no HTTP status."""

    code = "ModelNotFound"
    status = None


class Conflict(EmulatorError):
    """A resource with that name already exists."""

    code = "Conflict"
    status: int | None = 409


class InvalidSetting(EmulatorError):
    """The emulator's own configuration (an ``AZUREML_EMULATOR_*`` variable) is invalid; no
    request to Azure is involved, so no HTTP status."""

    code = "InvalidConfiguration"


class OperationFailed(EmulatorError):
    """Azure accepted the request but carrying it out failed: an image that would not start,
    a replica that crashed, a Docker engine out of reach, a certificate that will not load."""

    code = "OperationFailed"


class ComputeError(EmulatorError):
    """The resource provider's answer to a compute request: ``code`` and ``status`` are the
    ones Azure sends (``BadArgument``/400, ``NotFound``/404, ``Conflict``/409, ...), ``message``
    is the text of its ``error.message``."""

    code = "BadArgument"
    status: int | None = 400
