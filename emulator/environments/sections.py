"""The two sections of an ``Environment``: python (interpreter and conda spec) and docker (one
of base image, Dockerfile or build context, on a platform), with the SDK's defaults.

Their dict forms use the SDK's key names, so ``azureml_environment.json`` files written by
either side can be read by the other.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulator.environments.conda import CondaDependencies
from emulator.errors import UserErrorException

DEFAULT_CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20251130.v1"
DEFAULT_GPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04"

_DOCKER_SOURCES = ("base_image", "base_dockerfile", "build_context")

logger = logging.getLogger("emulator.environments")
_GPU_SUPPORT_NOTE = (
    "'gpu_support' is no longer necessary; AzureML now automatically detects and uses "
    "nvidia docker extension when it is available. It will be removed in a future release."
)


def _read_file(path: str | os.PathLike[str], what: str) -> str:
    """Read a user-supplied file, naming it (and how relative paths resolve) when missing."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (FileNotFoundError, IsADirectoryError):
        raise UserErrorException(
            f"{what} {os.fspath(path)} doesn't exist. Pass the path of an existing file "
            f"(relative paths resolve against {os.getcwd()})."
        ) from None


def _dockerfile_text(value: str | os.PathLike[str]) -> str:
    """Dockerfile contents from a path or from the text itself."""
    if isinstance(value, os.PathLike) or os.path.isfile(value):
        return _read_file(value, "Dockerfile")
    if len(value.split()) <= 1:  # every Dockerfile instruction takes arguments
        raise UserErrorException(
            f"base_dockerfile {value!r} is neither an existing file nor Dockerfile text. Pass "
            f"the path of an existing Dockerfile (relative paths resolve against "
            f"{os.getcwd()}) or its contents."
        )
    return value


@dataclass
class ContainerRegistry:
    """Where the base image is pulled from, and with which credentials."""

    address: str | None = None
    username: str | None = None
    password: str | None = None
    registry_identity: Any = None


@dataclass
class DockerImagePlatform:
    """The platform the image is built for; Azure's inference images are Linux on amd64."""

    os: str = "Linux"
    architecture: str = "amd64"


def _skip_defaults(kwargs: dict[str, Any], section: str) -> bool:
    """The SDK's one constructor option (``_skip_defaults``, used when deserializing)."""
    skip = bool(kwargs.pop("_skip_defaults", False))
    if kwargs:
        raise TypeError(f"{section}() got unexpected keyword arguments: {sorted(kwargs)}")
    return skip


class PythonSection:
    """The interpreter and the conda spec that the image's python environment is made from.

    With ``_skip_defaults`` the SDK leaves the conda spec out (None); here every environment
    keeps a spec object, so the option changes nothing in this section."""

    def __init__(self, **kwargs: Any) -> None:
        _skip_defaults(kwargs, "PythonSection")
        self.interpreter_path = "python"
        self.user_managed_dependencies = False
        self.conda_dependencies = CondaDependencies()
        self.conda_dependencies_file: str | None = None
        self.base_conda_environment: str | None = None

    def _serialize_to_dict(self) -> dict[str, Any]:
        return {
            "userManagedDependencies": self.user_managed_dependencies,
            "interpreterPath": self.interpreter_path,
            "condaDependenciesFile": self.conda_dependencies_file,
            "baseCondaEnvironment": self.base_conda_environment,
            "condaDependencies": self.conda_dependencies.as_dict(),
        }

    def _load(self, data: Mapping[str, Any]) -> None:
        self.user_managed_dependencies = bool(
            data.get("userManagedDependencies", self.user_managed_dependencies)
        )
        self.interpreter_path = data.get("interpreterPath", self.interpreter_path)
        self.conda_dependencies_file = data.get("condaDependenciesFile")
        self.base_conda_environment = data.get("baseCondaEnvironment")
        if data.get("condaDependencies") is not None:
            self.conda_dependencies = CondaDependencies(
                _underlying_structure=data["condaDependencies"]
            )


class DockerSection:
    """Base of the image: exactly one of base image, Dockerfile or build context is in use."""

    def __init__(self, **kwargs: Any) -> None:
        skip = _skip_defaults(kwargs, "DockerSection")
        self.enabled = False
        self.shared_volumes = True
        self.shm_size: str | None = None if skip else "2g"
        self.arguments: list[str] = []
        self.base_image_registry = ContainerRegistry()
        self.platform = DockerImagePlatform()
        self._base_image: str | None = None if skip else DEFAULT_CPU_IMAGE
        self._base_dockerfile: str | None = None
        self._build_context: str | None = None

    @property
    def gpu_support(self) -> bool:
        """Deprecated in the SDK: GPUs are used whenever the host has them; always True."""
        logger.warning(_GPU_SUPPORT_NOTE)
        return True

    @gpu_support.setter
    def gpu_support(self, _: bool) -> None:
        logger.warning(_GPU_SUPPORT_NOTE)

    def _claim(self, source: str) -> None:
        """Reset the other image sources: an image has one base, and silence would hide which."""
        for other in _DOCKER_SOURCES:
            if other != source and getattr(self, f"_{other}") is not None:
                warnings.warn(
                    f"Property {other} is mutually exclusive with {source}; "
                    f"resetting {other} to None.",
                    stacklevel=3,
                )
                setattr(self, f"_{other}", None)

    @property
    def base_image(self) -> str | None:
        """Image to build on, e.g. ``mcr.microsoft.com/azureml/...:tag``."""
        return self._base_image

    @base_image.setter
    def base_image(self, value: str | None) -> None:
        if value is not None:
            self._claim("base_image")
        self._base_image = value

    @property
    def base_dockerfile(self) -> str | None:
        """Dockerfile text to build the base from; a path given here is read at once."""
        return self._base_dockerfile

    @base_dockerfile.setter
    def base_dockerfile(self, value: str | os.PathLike[str] | None) -> None:
        text = None if value is None else _dockerfile_text(value)
        if text is not None:
            self._claim("base_dockerfile")
        self._base_dockerfile = text

    @property
    def build_context(self) -> str | None:
        """Directory holding a Dockerfile and the files it copies."""
        return self._build_context

    @build_context.setter
    def build_context(self, value: str | os.PathLike[str] | None) -> None:
        if value is not None:
            self._claim("build_context")
        self._build_context = None if value is None else os.fspath(value)

    def _serialize_to_dict(self) -> dict[str, Any]:
        registry = self.base_image_registry
        return {
            "enabled": self.enabled,
            "baseImage": self._base_image,
            "baseDockerfile": self._base_dockerfile,
            "buildContext": self._build_context,
            "sharedVolumes": self.shared_volumes,
            "shmSize": self.shm_size,
            "arguments": list(self.arguments),
            "baseImageRegistry": {
                "address": registry.address,
                "username": registry.username,
                "password": registry.password,
                "registryIdentity": registry.registry_identity,
            },
            "platform": {"os": self.platform.os, "architecture": self.platform.architecture},
        }

    def _load(self, data: Mapping[str, Any]) -> None:
        """Take the stored sources as they are: a saved environment is not re-validated."""
        self.enabled = bool(data.get("enabled", self.enabled))
        self._base_image = data.get("baseImage")
        self._base_dockerfile = data.get("baseDockerfile")
        self._build_context = data.get("buildContext")
        self.shared_volumes = bool(data.get("sharedVolumes", self.shared_volumes))
        self.shm_size = data.get("shmSize", self.shm_size)
        self.arguments = list(data.get("arguments") or [])
        platform = data.get("platform") or {}
        self.platform = DockerImagePlatform(
            os=platform.get("os", "Linux"), architecture=platform.get("architecture", "amd64")
        )
        registry = data.get("baseImageRegistry") or {}
        self.base_image_registry = ContainerRegistry(
            address=registry.get("address"),
            username=registry.get("username"),
            password=registry.get("password"),
            registry_identity=registry.get("registryIdentity"),
        )
