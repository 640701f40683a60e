"""``Environment``: what an image is built from, with the SDK's defaults and factories.

It holds a python section (interpreter and conda spec) and a docker section (one of base
image, Dockerfile or build context), both in :mod:`.sections`. The dict form uses the SDK's
key names so that ``azureml_environment.json`` files written by either side can be read by the
other.
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
from typing import Any

from emulator.environments.conda import PYTHON_DEFAULT_VERSION, CondaDependencies
from emulator.environments.registered import RegistryMethods
from emulator.environments.sections import (
    DEFAULT_CPU_IMAGE,
    DEFAULT_GPU_IMAGE,
    ContainerRegistry,
    DockerImagePlatform,
    DockerSection,
    PythonSection,
    _read_file,
)
from emulator.environments.training_sections import DatabricksSection, SparkSection
from emulator.errors import UserErrorException

__all__ = [
    "DEFAULT_CPU_IMAGE",
    "DEFAULT_GPU_IMAGE",
    "ContainerRegistry",
    "DockerImagePlatform",
    "DockerSection",
    "Environment",
    "PythonSection",
]


_JSON_FILE = "azureml_environment.json"
_CONDA_FILE = "conda_dependencies.yml"
_DOCKERFILE = "BaseDockerfile"


def _requirement_lines(text: str) -> list[str]:
    """Requirement lines of a requirements file, without comments and blank lines."""
    lines = (line.split(" #", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


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
        self.python = PythonSection(_skip_defaults=skip_defaults)
        self.docker = DockerSection(_skip_defaults=skip_defaults)
        self.environment_variables: dict[str, str] = (
            {} if skip_defaults else {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"}
        )
        self.inferencing_stack_version: str | None = None
        self.spark = SparkSection(_skip_defaults=skip_defaults)
        self.databricks = DatabricksSection(_skip_defaults=skip_defaults)
        self.r: Any = None  # the SDK's RSection, for R runs; kept as set
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
            "spark": self.spark._serialize_to_dict(),
            "databricks": self.databricks._serialize_to_dict(),
            "r": self.r,
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
        env.spark._load(environment_dict.get("spark") or {})
        env.databricks._load(environment_dict.get("databricks") or {})
        env.r = environment_dict.get("r")
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
