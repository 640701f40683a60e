"""Where batch workers run: an image's interpreter, its ``PYTHONPATH`` and its variables.

A batch deployment's scoring script runs inside the image built from its environment (the same
builder as online deployments, :mod:`emulator.images`), never in the emulator's interpreter:
what the environment lacks (pandas, say) is missing in ``run()`` too, as on Azure. A local
image (builders ``local`` and ``host``) is a directory whose ``image.json`` names them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from emulator.exceptions import BadArgument
from emulator.images.builders.local import load_local_image
from emulator.images.records import ImageRecord

#: Host variables a worker never inherits: Azure's come from the job, the image's from it.
_DROPPED_PREFIXES = ("AZUREML_", "AML_", "AMLEMU_")
_DROPPED = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}


@dataclass(frozen=True)
class WorkerRuntime:
    """The interpreter a batch job's workers start, and what they get from the image."""

    python: Path
    python_path: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_image(cls, image: ImageRecord) -> WorkerRuntime:
        """The runtime of a built local image; :class:`~emulator.exceptions.BadArgument` for an
        image Docker built (its workers would have to run in containers, which batch jobs do
        not do yet) or one not built."""
        if image.builder == "docker":
            raise BadArgument(
                f"Image {image.image_id} was built by Docker; batch jobs run their workers from "
                "local images. [emulator] Unset AZUREML_EMULATOR_BUILDER=docker (or set it to "
                "local) for batch deployments.",
                code="UserError",
            )
        if not image.location or not Path(image.location).is_dir():
            raise BadArgument(
                f"Image {image.image_id} has no built directory (state {image.state.value}).",
                code="UserError",
            )
        return cls.from_directory(Path(image.location))

    @classmethod
    def from_directory(cls, image_dir: Path) -> WorkerRuntime:
        """The runtime of the local image built into ``image_dir`` (its ``image.json``)."""
        local = load_local_image(image_dir)
        return cls(local.python, local.python_path, dict(local.env))

    @classmethod
    def current(cls) -> WorkerRuntime:
        """This interpreter, with the emulator importable (tests, benchmarks)."""
        return cls(Path(sys.executable), (Path(__file__).resolve().parents[2],))

    def environment(self, extra: Mapping[str, str]) -> dict[str, str]:
        """A worker's variables: the host's (PATH, HOME, locale, ...) minus Azure's and the
        emulator's, then the image's, its ``PYTHONPATH``, then ``extra`` (the job's)."""
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in _DROPPED and not key.startswith(_DROPPED_PREFIXES)
        }
        env.update(self.env)
        if self.python_path:
            env["PYTHONPATH"] = os.pathsep.join(str(path) for path in self.python_path)
        env["PYTHONUNBUFFERED"] = "1"
        env.update(extra)
        return env
