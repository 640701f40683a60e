"""Checks of entry scripts and referenced files shared by the image and inference configs."""

from __future__ import annotations

import ast
import keyword
import os
from pathlib import Path

from emulator.sdk.exceptions import UserErrorException, WebserviceException


def require_file(kind: str, path: str | os.PathLike[str] | None, extra: str = "") -> Path | None:
    """``None`` passes; a missing file raises the SDK's ``"<kind> <path> doesn't exist. "``."""
    if path is None:
        return None
    if not os.path.exists(path):
        raise WebserviceException(f"{kind} {path} doesn't exist. {extra}")
    return Path(path).resolve()


def check_python_driver(path: str | os.PathLike[str]) -> None:
    """The entry script must be a ``.py`` file importable as a module."""
    name, ext = os.path.splitext(os.path.basename(path))
    if ext != ".py":
        raise WebserviceException(
            "Invalid driver type. Currently only Python drivers are supported."
        )
    if not name.isidentifier() or keyword.iskeyword(name):
        raise WebserviceException(
            f'Error, invalid name "{name}" for provided entry script. The script must be '
            "importable as a valid python module, and so must only contain alphanumeric "
            "characters and underscores, and not start with a number."
        )


def check_syntax(path: Path) -> None:
    """InferenceConfig parses the script up front, as the SDK does."""
    try:
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        raise UserErrorException(
            f"{exc}. Please check it and try local deployment to verify."
        ) from exc
