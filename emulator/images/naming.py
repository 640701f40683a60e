"""Image name rules, with the SDK's exact message."""

from __future__ import annotations

import re

from emulator.exceptions import BadArgument

_IMAGE_NAME = re.compile(r"^[a-z0-9]([-\.a-z0-9]*[a-z0-9])?$")

INVALID_IMAGE_NAME = (
    "Error, provided image name is invalid. It must only consist of lowercase letters, numbers, "
    "dashes or periods, start with a letter or number, end with a letter or number, and be "
    "between 3 and 32 characters long."
)


def validate_image_name(name: object) -> str:
    """Return ``name`` if Azure would accept it as an image name, else raise."""
    if not isinstance(name, str) or not 3 <= len(name) <= 32 or not _IMAGE_NAME.fullmatch(name):
        raise BadArgument(f"{INVALID_IMAGE_NAME} Got: {name!r}")
    return name
