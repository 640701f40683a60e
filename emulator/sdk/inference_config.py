"""``azureml.core.model.InferenceConfig``: entry script + environment, validated like the SDK."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.environments.conda import CondaDependencies
from emulator.environments.environment import Environment
from emulator.images.context import ImageRequest
from emulator.models.records import ModelRecord
from emulator.sdk import image_payloads
from emulator.sdk.exceptions import UserErrorException, WebserviceException
from emulator.sdk.script_checks import check_python_driver, check_syntax, require_file

if TYPE_CHECKING:
    from emulator.sdk.workspace import Workspace

__all__ = ["InferenceConfig"]

_RUNTIMES = ("spark-py", "python", "python-slim")
_CUDA_VERSIONS = ("9.0", "9.1", "10.0")


class InferenceConfig:
    """How to run a model: the scoring script and the environment it needs."""

    def __init__(
        self,
        entry_script: str,
        runtime: str | None = None,
        conda_file: str | None = None,
        extra_docker_file_steps: str | None = None,
        source_directory: str | None = None,
        enable_gpu: bool | None = None,
        description: str | None = None,
        base_image: str | None = None,
        base_image_registry: object = None,
        cuda_version: str | None = None,
        environment: Environment | None = None,
    ) -> None:
        self.entry_script = entry_script
        self.runtime = runtime
        self.conda_file = conda_file
        self.extra_docker_file_steps = extra_docker_file_steps
        self.source_directory = source_directory
        self.enable_gpu = enable_gpu
        self.description = description
        self.base_image = base_image
        self.base_image_registry = base_image_registry
        self.cuda_version = cuda_version
        self.environment = environment
        self.validate_configuration()
        if source_directory is not None:
            self.source_directory = os.path.realpath(source_directory)

    def validate_configuration(self) -> None:
        """The SDK's checks (run at construction too); raises ``WebserviceException``."""
        entry_script, runtime, environment = self.entry_script, self.runtime, self.environment
        conda_file, extra_docker_file_steps = self.conda_file, self.extra_docker_file_steps
        source_directory, cuda_version = self.source_directory, self.cuda_version
        enable_gpu, base_image = self.enable_gpu, self.base_image
        if not entry_script:
            raise WebserviceException("Error, need to specify entry_script.")
        legacy = (
            runtime,
            conda_file,
            extra_docker_file_steps,
            enable_gpu,
            cuda_version,
            base_image,
        )
        if environment is not None:
            if any(value is not None for value in legacy):
                raise WebserviceException(
                    "Error, unable to provide runtime, conda_file, extra_docker_file_steps, "
                    "enable_gpu, cuda_version, or base_image along with an environment object."
                )
            if environment.docker.base_dockerfile and environment.docker.base_image:
                raise WebserviceException(
                    "Error, only one of base_dockerfile or base_image should be provided to the "
                    "environment.docker object."
                )
        if source_directory is not None:
            resolved_dir = os.path.realpath(source_directory)
            if not os.path.isdir(resolved_dir):
                raise WebserviceException(f"source directory {source_directory} doesn't exist. ")
            source_directory = resolved_dir
        script = os.path.join(source_directory or "", entry_script)
        if not os.path.isfile(script):
            raise WebserviceException(
                f"entry_script {script} doesn't exist. entry_script should be path relative to "
                "current working directory"
            )
        check_python_driver(script)
        if runtime is not None and runtime.lower() not in _RUNTIMES:
            raise WebserviceException(
                "Provided runtime not supported. Possible runtimes are: spark-py|python"
            )
        if cuda_version is not None and cuda_version not in _CUDA_VERSIONS:
            raise WebserviceException(
                "Provided cuda_version not supported. Possible cuda_versions are: 9.0|9.1|10.0"
            )
        require_file("Conda file", conda_file)
        require_file("Extra docker file steps", extra_docker_file_steps)
        self.validation_script_content()

    def validation_script_content(self) -> None:
        """The SDK's check that the entry script can be read and parses (UserErrorException)."""
        script = Path(self.source_directory or "", self.entry_script)
        try:
            check_syntax(script)
        except OSError:
            raise UserErrorException(
                f"Failed to open {script}, please check if it exists and the read permission. "
                "We can not deploy the model if we can not access this file."
            ) from None

    def build_create_payload(
        self, workspace: Workspace, name: str, model_ids: list[str]
    ) -> dict[str, Any]:
        """The SDK's image creation payload, its files uploaded to the workspace's storage
        (:mod:`emulator.sdk.image_payloads`)."""
        return image_payloads.inference_image_payload(self, workspace, name, model_ids)

    def build_profile_payload(
        self,
        profile_name: str,
        input_data: Any = None,
        workspace: Workspace | None = None,
        models: Any = None,
        dataset_id: str | None = None,
        container_resource_requirements: Any = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        """The SDK's profiling request (``input_data`` is unused there too: the input is the
        dataset ``dataset_id``)."""
        if workspace is None or container_resource_requirements is None:
            raise WebserviceException(
                "build_profile_payload needs the workspace (its files are uploaded there) and "
                "container_resource_requirements (its cpu and memory_in_gb, as the SDK's "
                "ContainerResourceRequirements has)."
            )
        return image_payloads.profile_payload(
            self, workspace, profile_name, models, dataset_id,
            container_resource_requirements, description,
        )  # fmt: skip

    def _image_request(self, name: str, models: tuple[ModelRecord, ...]) -> ImageRequest:
        steps = None
        if self.extra_docker_file_steps is not None:
            steps = Path(self.extra_docker_file_steps).read_text(encoding="utf-8")
        source = Path(self.source_directory) if self.source_directory else None
        entry = (source / self.entry_script) if source else Path(self.entry_script)
        return ImageRequest(
            entry_script=entry.resolve(),
            environment=self.environment or legacy_environment(f"{name}-env", self.conda_file),
            models=models,
            source_directory=source,
            extra_docker_steps=steps,
            base_image=self.base_image,
            enable_gpu=bool(self.enable_gpu),
        )

    def __repr__(self) -> str:
        return (
            f"InferenceConfig(entry_script={self.entry_script}, runtime={self.runtime}, "
            f"conda_file={self.conda_file}, source_directory={self.source_directory}, "
            f"environment={getattr(self.environment, 'name', None)})"
        )


def legacy_environment(name: str, conda_file: str | None) -> Environment:
    """The environment the SDK makes from a legacy ``conda_file`` (or its base spec)."""
    if conda_file is not None:
        return Environment.from_conda_specification(name, conda_file)
    env = Environment(name)
    env.python.conda_dependencies = CondaDependencies()
    return env
