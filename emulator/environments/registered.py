"""What an ``Environment`` does with a workspace: register, get, list and label versions,
store private wheels (``add_private_pip_wheel``) and build its image (``build``,
``build_local``, ``get_image_details``).

The SDK's calls take the workspace as an argument (``Environment.get(ws, name)``,
``env.register(ws)``). This layer keeps no registry of its own and imports none: the workspace
object hands over its environment store (``ws._environment_store()``, the v1 face's), which
keeps each version in the workspace's asset registry, the record the SDK v2 face reads too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from emulator.errors import UserErrorException

if TYPE_CHECKING:
    from emulator.environments.environment import Environment


class EnvironmentStore(Protocol):
    """A workspace's environment versions, curated ones included (read-only)."""

    def get(self, name: str, version: str | None, label: str | None) -> Environment: ...

    def latest(self) -> dict[str, Environment]: ...

    def register(self, environment: Environment) -> Environment: ...

    def label(self, name: str, version: str, labels: list[str]) -> None: ...

    def add_private_wheel(self, path: Path, exist_ok: bool) -> str: ...

    def build(self, environment: Environment, image_build_compute: str | None) -> Any: ...

    def build_local(
        self, environment: Environment, platform: str | None, options: dict[str, Any]
    ) -> None: ...

    def image_details(self, environment: Environment) -> Any: ...


def store_of(workspace: Any, call: str) -> EnvironmentStore:
    """The workspace's store, or the SDK's error naming what was passed instead."""
    opener = getattr(workspace, "_environment_store", None)
    if not callable(opener):
        raise UserErrorException(
            f"Environment.{call} needs an azureml.core.Workspace (Workspace.get(...) or "
            f"Workspace.from_config()), got {type(workspace).__name__}."
        )
    store: EnvironmentStore = opener()
    return store


class RegistryMethods:
    """The SDK's registry calls of ``Environment`` (mixed into it)."""

    def register(self, workspace: Any) -> Environment:
        """Store this definition as a version of its name: an unchanged definition keeps the
        latest version, a changed one gets the next; a set ``version`` is used as given."""
        return store_of(workspace, "register").register(cast("Environment", self))

    @classmethod
    def get(
        cls, workspace: Any, name: str, version: str | None = None, label: str | None = None
    ) -> Environment:
        """The version asked for, the one labelled ``label``, or the latest."""
        if label and version:
            raise UserErrorException("Only one of version or label can be specified")
        return store_of(workspace, "get").get(name, version, label)

    @classmethod
    def list(cls, workspace: Any) -> dict[str, Environment]:
        """The latest version of every environment of the workspace, curated ones included."""
        return store_of(workspace, "list").latest()

    @staticmethod
    def label(workspace: Any, name: str, version: str, labels: Iterable[str]) -> None:
        """Attach ``labels`` to a version (a label moves from any other version of the name)."""
        store_of(workspace, "label").label(name, str(version), list(labels))

    def build(self, workspace: Any, image_build_compute: str | None = None) -> Any:
        """Register this definition and build its image in the workspace (returns Azure's
        ``ImageBuildDetails``: ``status``, ``get_log()``, ``wait_for_completion()``)."""
        return store_of(workspace, "build").build(cast("Environment", self), image_build_compute)

    def build_local(self, workspace: Any, platform: str | None = None, **kwargs: Any) -> None:
        """Build the registered version's image on this machine now, streaming the log
        (``useDocker=True``: with Docker)."""
        store_of(workspace, "build_local").build_local(cast("Environment", self), platform, kwargs)

    def get_image_details(self, workspace: Any) -> Any:
        """Azure's image-details dict (``DockerImageDetails``) of the registered version."""
        return store_of(workspace, "get_image_details").image_details(cast("Environment", self))

    @staticmethod
    def add_private_pip_wheel(workspace: Any, file_path: str, exist_ok: bool = False) -> str:
        """Store a wheel in the workspace's storage account; the URL to list in an
        environment's pip packages (its image build installs the stored file). A name already
        stored raises unless ``exist_ok``, which returns its URL and keeps its content."""
        if not os.path.isfile(file_path):
            raise UserErrorException(f"Please make sure the wheel file exists at: {file_path}")
        return store_of(workspace, "add_private_pip_wheel").add_private_wheel(
            Path(file_path), exist_ok
        )
