"""The base of web service deployment configurations (``WebserviceDeploymentConfiguration``).

A configuration keeps exactly what the caller passed (``None`` for "service default") under the
SDK's attribute names; ``to_runtime()`` gives the values the service will run with, Azure's
defaults filled in. ``_webservice_type`` names the web service class that deploys it: the
web service faces set it (``AciServiceDeploymentConfiguration._webservice_type =
AciWebservice``), as the SDK's classes refer to each other.
"""

from __future__ import annotations

import numbers
from typing import Any

from emulator.sdk.exceptions import WebserviceException


class WebserviceDeploymentConfiguration:
    """Fields every deployment configuration has; subclasses validate at construction."""

    #: The web service class that deploys this configuration (set by the web service faces).
    _webservice_type: Any = None
    #: ``computeType`` of the service it creates: ``ACI``, ``AKS`` or ``Local``.
    compute_type = ""

    def __init__(
        self,
        type: Any = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        primary_key: str | None = None,
        secondary_key: str | None = None,
        location: str | None = None,
    ) -> None:
        if type is not None:
            self._webservice_type = type
        self.description = description
        self.tags = tags
        self.properties = properties
        self.primary_key = primary_key
        self.secondary_key = secondary_key
        self.location = location

    def validate_configuration(self) -> None:
        """Raise ``WebserviceException`` with the SDK's message when a value is invalid."""
        raise NotImplementedError

    def print_deploy_configuration(self) -> None:
        """Print the resource requirements, as the SDK does before deploying."""
        raise NotImplementedError

    @classmethod
    def validate_image(cls, image: Any) -> None:
        """The SDK's check of an image about to be deployed: built, and of a deployable flavor
        (``WebApiContainer`` or ``AccelContainer``)."""
        if image is None:
            raise WebserviceException("Image is None")
        if image.creation_state != "Succeeded":
            raise WebserviceException(
                f'Unable to create service with image {image.id} in non "Succeeded" creation state.'
            )
        if image.image_flavor not in ("WebApiContainer", "AccelContainer"):
            raise WebserviceException(f"Deployment of {image.image_flavor} images is not supported")

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


def check_number(value: object, name: str) -> None:
    """Reject a non-number early with a message naming the parameter.

    [emulator] The SDK compares the value with zero and fails with a bare ``TypeError`` (or
    sends it to the service); naming the parameter is clearer. ``None`` means "default".
    """
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise WebserviceException(
            f"Invalid configuration, {name} must be a number. [emulator] Got {value!r} "
            f"({type(value).__name__})."
        )
