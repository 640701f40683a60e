"""Which builder a build uses: ``AZUREML_EMULATOR_BUILDER`` = ``local`` (default), ``host``,
``docker``; packages that only need a Dockerfile use the ``dockerfile`` builder."""

from __future__ import annotations

from pathlib import Path

from emulator.exceptions import InvalidSetting
from emulator.images.builders.base import Builder
from emulator.images.buildlog import BuildLog
from emulator.images.context import BuildContext
from emulator.settings import builder_name
from emulator.store.root import EmulatorRoot

BUILDERS = ("local", "host", "docker")


class DockerfileOnlyBuilder:
    """Builds nothing: the written context (Dockerfile and files) is the product."""

    name = "dockerfile"

    def build(self, context: BuildContext, log: BuildLog, image_dir: Path, tag: str) -> str:
        log.write(f"Docker build context ready at {context.root}")
        return str(context.root)


def select_builder(root: EmulatorRoot, name: str | None = None) -> Builder:
    """The builder called ``name`` (default: from the environment variable)."""
    chosen = name or builder_name()
    if chosen in ("local", "host"):
        from emulator.images.builders.local import LocalBuilder

        return LocalBuilder(root, mode="venv" if chosen == "local" else "host")
    if chosen == "docker":
        from emulator.images.builders.docker import DockerBuilder

        return DockerBuilder()
    if chosen == "dockerfile":
        return DockerfileOnlyBuilder()
    raise InvalidSetting(
        f"Unknown image builder '{chosen}'. Set AZUREML_EMULATOR_BUILDER to one of: "
        f"{', '.join(BUILDERS)}."
    )
