"""Model name rules, with the SDK's exact message."""

from __future__ import annotations

import re

from emulator.exceptions import BadArgument

_MODEL_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-\._]{0,254}$")

INVALID_MODEL_NAME = (
    "Error, provided model name is invalid. It must only consist of letters, numbers, dashes, "
    "periods, or underscores, start with a letter or number, and be between 1 and 255 "
    "characters long."
)


def validate_model_name(name: object) -> str:
    """Return ``name`` if Azure would accept it, else raise ``BadArgument``."""
    if not isinstance(name, str) or not _MODEL_NAME.fullmatch(name):
        raise BadArgument(f"{INVALID_MODEL_NAME} Got: {name!r}")
    return name
