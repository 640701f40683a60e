"""The v1 face's boundary: errors state raises become the v1 SDK's exception classes.

State raises ``emulator.exceptions`` (code, message, HTTP status); users of the v1 SDK catch
``WebserviceException``, ``ComputeTargetException``, ``ModelNotFoundException`` and
``UserErrorException`` with the messages the SDK gives. The v1 classes wrap every face method
that reaches state in :func:`v1_errors`, which converts with one table, :func:`to_v1`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from emulator.exceptions import (
    ComputeError,
    Conflict,
    EmulatorError,
    InvalidSetting,
    ModelPathNotFound,
    NotFound,
)
from emulator.sdk.exceptions import (
    AzureMLException,
    ComputeTargetException,
    ModelNotFoundException,
    UserErrorException,
    WebserviceException,
)

__all__ = ["to_v1", "v1_errors"]


def to_v1(error: EmulatorError) -> AzureMLException:
    """The v1 exception the SDK raises for ``error``, with the same message.

    Compute errors are the resource provider's answers, which the SDK wraps in
    ``ComputeTargetException('Received bad response from Resource Provider: ...')``; a missing
    local model is ``get_model_path``'s ``ModelNotFoundException``; an invalid emulator setting
    is a ``UserErrorException``; everything else is the model-management service's
    ``WebserviceException``, with the HTTP status where the service answered with one
    (404 for a model gone, 409 for a service that exists).
    """
    if isinstance(error, ComputeError):
        return ComputeTargetException(_resource_provider_text(error))
    if isinstance(error, ModelPathNotFound):
        return ModelNotFoundException(error.message)
    if isinstance(error, InvalidSetting):
        return UserErrorException(error.message)
    if isinstance(error, (NotFound, Conflict)):
        return WebserviceException(error.message, status_code=error.status)
    return WebserviceException(error.message)


@contextmanager
def v1_errors() -> Iterator[None]:
    """Raise the v1 class for any neutral error raised inside (also usable as a decorator)."""
    try:
        yield
    except EmulatorError as exc:
        raise to_v1(exc) from exc


def _resource_provider_text(error: EmulatorError) -> str:
    """The SDK's text for a resource provider's error answer: status, headers, raw body."""
    status = error.status if error.status is not None else 400
    body = json.dumps(
        {"error": {"code": error.code, "statusCode": status, "message": error.message}},
        ensure_ascii=False,
    )
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "x-ms-request-id": str(uuid.uuid4()),
    }
    return (
        "Received bad response from Resource Provider:\n"
        f"Response Code: {status}\nHeaders: {headers}\nContent: b'{body}'"
    )
