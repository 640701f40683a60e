"""What every builder offers: build a context, report the image's location."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from emulator.images.buildlog import BuildLog
from emulator.images.context import BuildContext


class Builder(Protocol):
    """Builds one image from a written :class:`BuildContext`.

    ``image_dir`` is the image's own directory under the emulator root (empty at start);
    ``tag`` is ``<image name>:<version>``. Returns the image location: a path for the local
    builder, the tag for Docker. Raises :class:`~emulator.images.buildlog.BuildFailed` (after
    logging the failing step and the tool's output) when the image cannot be built.
    """

    name: str

    def build(self, context: BuildContext, log: BuildLog, image_dir: Path, tag: str) -> str: ...
