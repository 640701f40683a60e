"""ARM's errors: an HTTP status, an ARM error code and a message, rendered as ARM renders them.

Azure Resource Manager answers every failure with ``{"error": {"code", "message"}}`` and the
status that goes with the code; ``azure-mgmt-core``'s ``ARMErrorFormat`` reads exactly that shape
into the ``HttpResponseError`` users see. Handlers raise these; :mod:`emulator.arm.app` renders
them, so no request ever answers with a traceback.
"""

from __future__ import annotations

import json

PROVIDER = "Microsoft.MachineLearningServices"


class ArmError(Exception):
    """One ARM error: ``status`` is the HTTP status, ``code`` ARM's error code."""

    status = 500
    code = "InternalServerError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> bytes:
        return json.dumps({"error": {"code": self.code, "message": self.message}}).encode()


class AuthenticationFailed(ArmError):
    """401: no bearer token, or one that is not well formed."""

    status = 401
    code = "AuthenticationFailed"


class MissingApiVersion(ArmError):
    """400: ARM requires ``?api-version=`` on every request."""

    status = 400
    code = "MissingApiVersionParameter"

    def __init__(self) -> None:
        super().__init__(
            "The api-version query parameter (?api-version=) is required for all requests."
        )


class ResourceNotFound(ArmError):
    """404 for a resource that does not exist (ARM's wording, with the emulator's hint)."""

    status = 404
    code = "ResourceNotFound"


class InvalidResourceType(ArmError):
    """404 for a route the emulator does not know: a resource type (or path) it has no handler
    for. The message names the path, so a user can tell which call of their SDK is unsupported."""

    status = 404
    code = "InvalidResourceType"

    def __init__(self, method: str, path: str, api_version: str | None) -> None:
        super().__init__(
            f"The resource type could not be found for {method} {path} in the namespace "
            f"'{PROVIDER}' for api version '{api_version or ''}'. [emulator] This route is not "
            "emulated (yet): see the README's SDK v2 section for the operations the emulator "
            "answers."
        )


class MethodNotAllowed(ArmError):
    """405 for a known resource path with a method it does not support."""

    status = 405
    code = "MethodNotAllowed"
