"""``Model.package``: an image, or just its Dockerfile and build context, from models + config."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from typing import Any

from emulator.images.build import start_build
from emulator.images.builders.select import DockerfileOnlyBuilder, select_builder
from emulator.images.naming import validate_image_name
from emulator.sdk.exceptions import WebserviceException
from emulator.sdk.image import Image
from emulator.sdk.inference_config import InferenceConfig
from emulator.sdk.model import resolve_models
from emulator.sdk.translation import v1_errors
from emulator.sdk.workspace import Workspace

__all__ = ["ModelPackage"]


class ModelPackage(Image):
    """A packaged model: a built image, or (``generate_dockerfile``) a saveable build context."""

    generate_dockerfile: bool

    @property
    def state(self) -> str:
        return self.creation_state

    @property
    def location(self) -> str | None:
        return self.image_location

    @property
    def package_build_log_uri(self) -> str:
        return self.image_build_log_uri

    def save(self, output_directory: str) -> None:
        """Write the Dockerfile and build context (``generate_dockerfile=True`` packages only)."""
        if not self.generate_dockerfile:
            raise WebserviceException(
                "Docker images cannot be saved to a local directory. Use pull() instead."
            )
        if self.creation_state != "Succeeded" or not self.image_location:
            raise WebserviceException(
                f"Package is {self.creation_state}; call wait_for_creation() before save()."
            )
        shutil.copytree(self.image_location, output_directory, dirs_exist_ok=True)

    def serialize(self) -> dict[str, Any]:
        return {
            "generateDockerfile": self.generate_dockerfile,
            "state": self.state,
            "location": self.location,
        }

    def __repr__(self) -> str:
        return (
            f"ModelPackage(workspace={self.workspace!r}, generate_dockerfile="
            f"{self.generate_dockerfile}, state={self.state}, location={self.location})"
        )


@v1_errors()
def package_models(
    workspace: Workspace,
    models: Sequence[Any],
    inference_config: InferenceConfig | None,
    generate_dockerfile: bool = False,
    image_name: str | None = None,
) -> ModelPackage:
    """Start packaging; the package builds in the background like an image."""
    if inference_config is None:
        raise WebserviceException(
            "Error, model packaging requires an InferenceConfig containing an Environment object."
        )
    if not isinstance(inference_config, InferenceConfig):
        raise WebserviceException(
            f"Invalid inference_config type {type(inference_config).__name__}: Model.package "
            "takes an InferenceConfig. [emulator] An AccelInferenceConfig deploys with "
            "Model.deploy; for an accelerated image use "
            "Image.create(ws, name, [converted_model], AccelContainerImage.image_configuration())."
        )
    if image_name is not None:
        validate_image_name(image_name)
    records = resolve_models(workspace, models)
    digest = hashlib.sha256(",".join(r.model_id for r in records).encode()).hexdigest()[:8]
    name = image_name or f"package-{digest}"
    request = inference_config._image_request(name, records)
    state = workspace.emulator_state
    builder = DockerfileOnlyBuilder() if generate_dockerfile else select_builder(state.root)
    record = state.images.create(
        name,
        builder=builder.name,
        flavor="ModelPackage",
        description=inference_config.description,
        model_ids=[r.model_id for r in records],
        entry_script=request.entry_script.name,
    )
    record = start_build(state.images, record, request, builder, state.root.blobs)
    package = object.__new__(ModelPackage)
    package._bind(workspace, record)
    package.generate_dockerfile = generate_dockerfile
    return package
