"""``Environment``: what an image is built from, with the SDK's defaults and factories.

It holds a python section (interpreter and conda spec) and a docker section (one of base
image, Dockerfile or build context). The dict form uses the SDK's key names so that
``azureml_environment.json`` files written by either side can be read by the other.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulator.environments.conda import PYTHON_DEFAULT_VERSION, CondaDependencies
from emulator.environments.registered import RegistryMethods
from emulator.errors import UserErrorException

__all__ = [
    "DEFAULT_CPU_IMAGE",
    "DEFAULT_GPU_IMAGE",
    "ContainerRegistry",
    "DockerSection",
    "Environment",
    "PythonSection",
]

DEFAULT_CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20251130.v1"
DEFAULT_GPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04"

_JSON_FILE = "azureml_environment.json"
_CONDA_FILE = "conda_dependencies.yml"
_DOCKERFILE = "BaseDockerfile"
_DOCKER_SOURCES = ("base_image", "base_dockerfile", "build_context")


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


def _requirement_lines(text: str) -> list[str]:
    """Requirement lines of a requirements file, without comments and blank lines."""
    lines = (line.split(" #", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


@dataclass
class ContainerRegistry:
    """Where the base image is pulled from, and with which credentials."""

    address: str | None = None
    username: str | None = None
    password: str | None = None
    registry_identity: Any = None


class PythonSection:
    """The interpreter and the conda spec that the image's python environment is made from."""

    def __init__(self) -> None:
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

    def __init__(self) -> None:
        self.enabled = False
        self.shared_volumes = True
        self.shm_size: str | None = "2g"
        self.arguments: list[str] = []
        self.base_image_registry = ContainerRegistry()
        self._base_image: str | None = DEFAULT_CPU_IMAGE
        self._base_dockerfile: str | None = None
        self._build_context: str | None = None

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
            "platform": {"os": "Linux", "architecture": "amd64"},
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
        registry = data.get("baseImageRegistry") or {}
        self.base_image_registry = ContainerRegistry(
            address=registry.get("address"),
            username=registry.get("username"),
            password=registry.get("password"),
            registry_identity=registry.get("registryIdentity"),
        )


class Environment(RegistryMethods):
    """A named, versionable description of the image a model is served from (its registry
    calls, ``register``/``get``/``list``/``label``, are in :mod:`.registered`)."""

    DEFAULT_CPU_IMAGE = DEFAULT_CPU_IMAGE
    DEFAULT_GPU_IMAGE = DEFAULT_GPU_IMAGE

    def __init__(self, name: str, **kwargs: Any) -> None:
        skip_defaults = bool(kwargs.pop("_skip_defaults", False))
        if kwargs:
            raise TypeError(f"Environment() got unexpected keyword arguments: {sorted(kwargs)}")
        if not isinstance(name, str):
            raise TypeError(f"Environment name must be a str, got {type(name).__name__}")
        self.name = name
        self.version: str | None = None
        self.python = PythonSection()
        self.docker = DockerSection()
        self.environment_variables: dict[str, str] = (
            {} if skip_defaults else {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"}
        )
        self.inferencing_stack_version: str | None = None
        #: The registry's id of a registered version (None until registered).
        self.asset_id: str | None = None

    # -- factories -----------------------------------------------------------------------

    @staticmethod
    def from_conda_specification(name: str, file_path: str | os.PathLike[str]) -> Environment:
        """Environment from a conda YAML; python is pinned to the default when the file has none."""
        conda = CondaDependencies(file_path)
        if conda.get_python_version() is None:
            warnings.warn(
                f"No python version in conda specification {os.fspath(file_path)}; using "
                f"python={PYTHON_DEFAULT_VERSION}. Add a python=<version> dependency to choose.",
                stacklevel=2,
            )
            conda.set_python_version(PYTHON_DEFAULT_VERSION)
        env = Environment(name)
        env.python.conda_dependencies = conda
        return env

    @staticmethod
    def from_pip_requirements(
        name: str, file_path: str | os.PathLike[str], pip_version: str | None = None
    ) -> Environment:
        """Environment whose pip section is a requirements file (conda provides pip itself)."""
        requirements = _requirement_lines(_read_file(file_path, "Pip requirements file"))
        conda = CondaDependencies()
        conda.set_pip_requirements(requirements)
        conda.add_conda_package("pip" if pip_version is None else f"pip={pip_version}")
        env = Environment(name)
        env.python.conda_dependencies = conda
        return env

    @staticmethod
    def from_existing_conda_environment(name: str, conda_environment_name: str) -> Environment:
        """Environment from a conda environment of this machine (``conda env export``)."""
        conda = shutil.which("conda")
        if conda is None:
            raise UserErrorException(
                "from_existing_conda_environment exports a local conda environment with "
                "'conda env export', and conda is not installed here (no 'conda' on PATH). "
                "Write the packages to a conda YAML and use "
                "Environment.from_conda_specification(name, path) instead."
            )
        export = subprocess.run(
            [conda, "env", "export", "--no-builds", "--name", conda_environment_name],
            capture_output=True,
            text=True,
            check=False,
        )
        if export.returncode != 0:
            raise UserErrorException(
                f"Exporting conda environment {conda_environment_name!r} failed: "
                f"{(export.stderr.strip().splitlines() or ['no output'])[-1]} "
                "('conda env list' shows the environments of this machine)."
            )
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "environment.yml")
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(export.stdout)
            return Environment.from_conda_specification(name, path)

    @staticmethod
    def _with_dependencies(
        name: str,
        conda_specification: str | os.PathLike[str] | None,
        pip_requirements: str | os.PathLike[str] | None,
    ) -> Environment:
        """Environment for the docker factories: no spec means the image brings its own python."""
        if conda_specification is not None:
            env = Environment.from_conda_specification(name, conda_specification)
        elif pip_requirements is not None:
            env = Environment.from_pip_requirements(name, pip_requirements)
        else:
            env = Environment(name)
            env.python.user_managed_dependencies = True
        env.docker.base_image = None
        return env

    @staticmethod
    def from_docker_image(
        name: str,
        image: str,
        container_registry: ContainerRegistry | None = None,
        conda_specification: str | os.PathLike[str] | None = None,
        pip_requirements: str | os.PathLike[str] | None = None,
    ) -> Environment:
        """Environment built on an existing image, optionally pulled with credentials."""
        env = Environment._with_dependencies(name, conda_specification, pip_requirements)
        env.docker.base_image = image
        if container_registry is not None:
            env.docker.base_image_registry = container_registry
        return env

    @staticmethod
    def from_dockerfile(
        name: str,
        dockerfile: str | os.PathLike[str],
        conda_specification: str | os.PathLike[str] | None = None,
        pip_requirements: str | os.PathLike[str] | None = None,
    ) -> Environment:
        """Environment whose base is built from a Dockerfile (text or path)."""
        env = Environment._with_dependencies(name, conda_specification, pip_requirements)
        env.docker.base_dockerfile = dockerfile
        return env

    def clone(self, new_name: str) -> Environment:
        """An unregistered copy under another name (the version is dropped)."""
        if not isinstance(new_name, str):
            raise TypeError(f"Environment name must be a str, got {type(new_name).__name__}")
        env = copy.deepcopy(self)
        env.name = new_name
        env.version = None
        env.asset_id = None
        return env

    # -- dict and directory forms --------------------------------------------------------

    def _serialize_to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "environmentVariables": dict(self.environment_variables),
            "python": self.python._serialize_to_dict(),
            "docker": self.docker._serialize_to_dict(),
            "inferencingStackVersion": self.inferencing_stack_version,
        }

    @classmethod
    def _deserialize_and_add_to_object(cls, environment_dict: Mapping[str, Any]) -> Environment:
        name = environment_dict.get("name")
        if not isinstance(name, str):
            raise UserErrorException(f"Environment definition needs a string 'name', got {name!r}.")
        env = cls(name)
        env.version = environment_dict.get("version")
        if "environmentVariables" in environment_dict:
            env.environment_variables = dict(environment_dict["environmentVariables"] or {})
        env.python._load(environment_dict.get("python") or {})
        env.docker._load(environment_dict.get("docker") or {})
        env.inferencing_stack_version = environment_dict.get("inferencingStackVersion")
        return env

    def save_to_directory(self, path: str | os.PathLike[str], overwrite: bool = False) -> None:
        """Write the definition as editable files: JSON, conda YAML and the Dockerfile."""
        if os.path.exists(path) and not overwrite:
            raise UserErrorException(
                f"Directory {os.fspath(path)} already exists. Pass overwrite=True to replace "
                "the saved environment, or choose another path."
            )
        os.makedirs(path, exist_ok=True)
        data = self._serialize_to_dict()
        data["python"]["condaDependencies"] = None  # kept in conda_dependencies.yml
        data["docker"]["baseDockerfile"] = None  # kept in BaseDockerfile
        with open(os.path.join(path, _JSON_FILE), "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=4)
        self.python.conda_dependencies.save(os.path.join(path, _CONDA_FILE))
        dockerfile_path = os.path.join(path, _DOCKERFILE)
        if self.docker.base_dockerfile is not None:
            with open(dockerfile_path, "w", encoding="utf-8") as handle:
                handle.write(self.docker.base_dockerfile)
        elif os.path.exists(dockerfile_path):  # a stale one would be loaded back
            os.remove(dockerfile_path)

    @staticmethod
    def load_from_directory(path: str | os.PathLike[str]) -> Environment:
        """Read back what ``save_to_directory`` wrote (edits to the files included)."""
        json_path = os.path.join(path, _JSON_FILE)
        if not os.path.isfile(json_path):
            raise UserErrorException(
                f"{json_path} doesn't exist. Point load_from_directory at a directory written "
                "by Environment.save_to_directory."
            )
        try:
            data = json.loads(_read_file(json_path, "Environment definition"))
        except json.JSONDecodeError as exc:
            raise UserErrorException(f"{json_path} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise UserErrorException(f"{json_path} must hold a JSON object.")
        env = Environment._deserialize_and_add_to_object(data)
        conda_path = os.path.join(path, _CONDA_FILE)
        if os.path.isfile(conda_path):
            env.python.conda_dependencies = CondaDependencies(conda_path)
        dockerfile_path = os.path.join(path, _DOCKERFILE)
        if os.path.isfile(dockerfile_path):
            env.docker._base_dockerfile = _read_file(dockerfile_path, "Dockerfile")
        return env


def environment_definition(env: Environment) -> dict[str, Any]:
    """``env`` as the SDK's JSON definition (what ``save_to_directory`` writes; an image's
    ``build.json`` records it). ``Environment._serialize_to_dict`` keeps the SDK's private
    name for code written against the SDK; the emulator's other layers call this instead."""
    return env._serialize_to_dict()
