"""``azureml.core.image``: ``Image``, ``ContainerImage`` and ``ContainerImageConfig``."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from emulator.images.build import log_path, start_build, wait_for_build
from emulator.images.builders.select import select_builder
from emulator.images.context import ImageRequest
from emulator.images.naming import validate_image_name
from emulator.images.records import ImageRecord
from emulator.models.records import ModelRecord
from emulator.sdk import progress
from emulator.sdk.environment_build import ENVIRONMENT_FLAVOR
from emulator.sdk.exceptions import WebserviceException
from emulator.sdk.image_contents import ImageContents, keep_target_runtime
from emulator.sdk.image_payloads import ContainerImagePayload, LocalDebugPayload
from emulator.sdk.image_run import ImageRun
from emulator.sdk.inference_config import legacy_environment
from emulator.sdk.model import Model, resolve_models
from emulator.sdk.script_checks import check_python_driver, require_file
from emulator.sdk.translation import v1_errors
from emulator.sdk.workspace import Workspace

__all__ = ["ContainerImage", "ContainerImageConfig", "Image", "ImageConfig"]

_RUNTIMES = ("python", "spark-py", "python-slim")
_CUDA_VERSIONS = ("9.0", "9.1", "10.0")
_HELP = "For more help with troubleshooting, see https://aka.ms/debugimage"
#: How a build step starts in the build log (``[   0.01s] Step: Resolve requirements``).
_STEP = "] Step: "


class ImageConfig:
    """Base of image configurations (the SDK's abstract ``ImageConfig``: each concrete
    configuration builds and checks its own)."""

    def build_create_payload(self, workspace: Workspace, name: str, model_ids: list[str]) -> Any:
        raise NotImplementedError(
            "build_create_payload builds the request of Azure's image service, which the "
            "emulator has no use for: ContainerImage.create(ws, name, models, image_config) "
            "builds the image here."
        )

    def validate_configuration(self) -> None:
        raise NotImplementedError("validate_configuration is defined by each image configuration.")

    def _image_request(self, name: str, models: tuple[ModelRecord, ...]) -> ImageRequest:
        raise NotImplementedError


class ContainerImageConfig(ContainerImagePayload, LocalDebugPayload, ImageConfig):
    """A legacy image configuration: execution script, runtime, conda file, extra files."""

    def __init__(
        self,
        execution_script: str,
        runtime: str,
        conda_file: str | None = None,
        docker_file: str | None = None,
        schema_file: str | None = None,
        dependencies: Sequence[str] | None = None,
        enable_gpu: bool | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        base_image: str | None = None,
        base_image_registry: object = None,
        allow_absolute_path: bool = False,
        cuda_version: str | None = None,
    ) -> None:
        self.execution_script = execution_script
        self.runtime = runtime
        self.conda_file = conda_file
        self.docker_file = docker_file
        self.schema_file = schema_file
        self.dependencies = list(dependencies or [])
        self.enable_gpu = enable_gpu
        self.tags = tags
        self.properties = properties
        self.description = description
        self.base_image = base_image
        self.base_image_registry = base_image_registry
        self.allow_absolute_path = allow_absolute_path
        self.cuda_version = cuda_version
        self.execution_script_path = os.path.abspath(os.path.dirname(execution_script))
        self.validate_configuration()

    def validate_configuration(self) -> None:
        """The SDK's checks (run at construction too); raises ``WebserviceException``."""
        execution_script, runtime = self.execution_script, self.runtime
        allow_absolute_path, cuda_version = self.allow_absolute_path, self.cuda_version
        schema_file, base_image = self.schema_file, self.base_image
        if os.path.isabs(execution_script) and not allow_absolute_path:
            raise WebserviceException(
                "Unable to use absolute path for execution script. Use a relative path for "
                "execution script and try again."
            )
        script_dir = os.path.dirname(os.path.abspath(execution_script))
        if not allow_absolute_path and script_dir != os.getcwd():
            raise WebserviceException(
                "Unable to use an execution script not in current directory. Please navigate to "
                "the location of the execution script and try again."
            )
        require_file("Execution script", execution_script)
        require_file("Conda file", self.conda_file)
        require_file("Docker file", self.docker_file)
        for dependency in self.dependencies:
            require_file("Dependency", dependency)
        require_file("Schema file", schema_file)
        check_python_driver(execution_script)
        if not runtime or runtime.lower() not in _RUNTIMES:
            raise WebserviceException(
                "Provided runtime not supported. Possible runtimes are: spark-py|python"
            )
        if cuda_version is not None and cuda_version not in _CUDA_VERSIONS:
            raise WebserviceException(
                "Provided cuda_version not supported. Possible values are: 9.0|9.1|10.0"
            )
        if schema_file is not None:
            schema_dir = os.path.dirname(os.path.abspath(schema_file))
            if os.path.commonpath([schema_dir, script_dir]) != script_dir:
                raise WebserviceException(
                    "Schema file must be in the execution script's directory or a subdirectory."
                )
        if base_image is not None and runtime.lower() != "python":
            raise WebserviceException(
                f"Custom base image is not supported for {runtime} run time. Supported runtimes "
                "are: python"
            )

    def _image_request(self, name: str, models: tuple[ModelRecord, ...]) -> ImageRequest:
        steps = Path(self.docker_file).read_text(encoding="utf-8") if self.docker_file else None
        extra_files = [self.schema_file] if self.schema_file else []
        return ImageRequest(
            entry_script=Path(self.execution_script).resolve(),
            environment=legacy_environment(f"{name}-env", self.conda_file),
            models=models,
            dependencies=tuple(Path(d).resolve() for d in [*self.dependencies, *extra_files]),
            extra_docker_steps=steps,
            base_image=self.base_image,
            enable_gpu=bool(self.enable_gpu),
        )


class Image:
    """A built (or building) image; ``Image(ws, name)`` looks one up."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Image:
        return super().__new__(ContainerImage if cls is Image else cls)

    @staticmethod
    def image_configuration() -> ImageConfig:
        """Abstract in the SDK: ``ContainerImage.image_configuration(...)`` makes one."""
        raise NotImplementedError("Use ContainerImage.image_configuration(...).")

    def __init__(
        self,
        workspace: Workspace,
        name: str | None = None,
        id: str | None = None,
        tags: Sequence[Any] | None = None,
        properties: Sequence[Any] | None = None,
        version: int | None = None,
    ) -> None:
        if id is not None:
            name, _, id_version = id.partition(":")
            version = int(id_version) if id_version else version
        if not name:
            raise WebserviceException("Error, one of id or name must be provided.")
        images = workspace.emulator_state.images
        record = images.get(name, version)
        if record is None:
            detail = f"name {name}" + (f", version {version}" if version is not None else "")
            known = ", ".join(sorted({r.name for r in images.records()})) or "none"
            raise WebserviceException(
                f"ImageNotFound: Image with {detail} not found in provided workspace. "
                f"[emulator] Images in this workspace: {known}",
                status_code=404,
            )
        self._bind(workspace, record)

    def _bind(self, workspace: Workspace, record: ImageRecord) -> None:
        flavored = _image_class(record.flavor)
        if type(self) is ContainerImage and flavored is not ContainerImage:
            self.__class__ = flavored  # type: ignore[assignment]  # flavor known from the record
        self.workspace = workspace
        self._record = record
        self.name = record.name
        self.version = record.version
        self.id = record.image_id
        self.creation_state = record.state.value
        self.driver_program = record.entry_script  # the entry script the image runs
        self.description = record.description
        self.tags = dict(record.tags)
        self.properties = dict(record.properties)
        self.model_ids = list(record.model_ids)
        self.image_flavor = record.flavor
        self.image_type = "Docker"
        self.image_location = record.location
        self.created_time = datetime.fromisoformat(record.created_time)
        self.error = record.error
        self.image_build_log_uri = log_path(record).resolve().as_uri()
        dockerfile = Path(record.directory) / "context" / "Dockerfile"
        self.generated_dockerfile_uri = dockerfile.resolve().as_uri()

    @property
    def emulator_record(self) -> ImageRecord:
        """The image registry row this object was read from (an emulator addition, not part of the
        SDK): what the CLI, portal and pytest plugin show beyond the SDK's attributes."""
        return self._record

    @classmethod
    def _from_record(cls, workspace: Workspace, record: ImageRecord) -> Image:
        image = object.__new__(ContainerImage)
        image._bind(workspace, record)
        return image

    @property
    def models(self) -> list[Model]:
        return [Model(self.workspace, id=model_id) for model_id in self.model_ids]

    @classmethod
    def deserialize(cls, workspace: Workspace, image_payload: dict[str, Any]) -> Image:
        """The image a payload (``serialize()``, or Azure's JSON) names, read from
        ``workspace`` (it must be registered there, as the SDK's remark says)."""
        for key in ("imageType", "id"):
            if key not in image_payload:
                raise WebserviceException(
                    f"Invalid image payload, missing {key} for image:\n{image_payload}"
                )
        return Image(workspace, id=str(image_payload["id"]))

    @staticmethod
    @v1_errors()
    def create(
        workspace: Workspace, name: str, models: Sequence[Any], image_config: ImageConfig
    ) -> Image:
        """Start building ``name``'s next version; returns at once (``wait_for_creation``)."""
        validate_image_name(name)
        records = resolve_models(workspace, models)
        print("Creating image")
        request = image_config._image_request(name, records)
        state = workspace.emulator_state
        builder = select_builder(state.root)
        config_meta = getattr(image_config, "tags", None), getattr(image_config, "properties", None)
        record = state.images.create(
            name,
            builder=builder.name,
            description=getattr(image_config, "description", None),
            tags=config_meta[0],
            properties=config_meta[1],
            flavor=getattr(image_config, "image_flavor", "WebApiContainer"),
            model_ids=[r.model_id for r in records],
            entry_script=request.entry_script.name,
        )
        keep_target_runtime(record, image_config)
        record = start_build(state.images, record, request, builder, state.root.blobs)
        return Image._from_record(workspace, record)

    def wait_for_creation(self, show_output: bool = False) -> None:
        """Block until the build ends; with ``show_output`` the build log streams to stdout."""
        if show_output and progress.attached():
            record = self._wait_with_status_line()
        else:
            printer = (lambda line: print(line, flush=True)) if show_output else None
            record = wait_for_build(self.workspace.emulator_state.images, self._record, printer)
        self._bind(self.workspace, record)
        if self.creation_state == "Failed":
            print(
                f"More information about this error is available here: "
                f"{self.image_build_log_uri}\n{_HELP}"
            )
            raise WebserviceException(
                "Image creation polling reached non-successful terminal state, current state: "
                f"{self.creation_state}\nError response from server:\n"
                f"{json.dumps(self.error, indent=2)}"
            )
        if show_output:
            print(f'Image creation operation finished for image {self.id}, operation "Succeeded"')

    def _wait_with_status_line(self) -> ImageRecord:
        """The build log streamed above a live ``<step> (<elapsed> s)`` line (terminals only)."""
        with progress.StatusLine(f"Image {self.id}", self.creation_state) as status:

            def show(line: str) -> None:
                status.print(line)
                if _STEP in line:
                    status.phase(line.split(_STEP, 1)[1])

            record = wait_for_build(self.workspace.emulator_state.images, self._record, show)
            status.phase(record.state.value)
        return record

    def update_creation_state(self) -> None:
        """Refresh ``creation_state`` (and location, error) from the registry."""
        record = self.workspace.emulator_state.images.get(self.name, self.version)
        if record is not None:
            self._bind(self.workspace, record)

    @staticmethod
    def list(
        workspace: Workspace,
        image_name: str | None = None,
        model_name: str | None = None,
        model_id: str | None = None,
        tags: Sequence[Any] | None = None,
        properties: Sequence[Any] | None = None,
    ) -> list[Image]:
        """Images of the workspace, newest version first per name, filtered like the SDK."""
        from emulator.sdk.model import matches_filter

        records = [
            r
            for r in workspace.emulator_state.images.records(image_name)
            if r.flavor not in _NOT_LISTED
            and (model_id is None or model_id in r.model_ids)
            and (model_name is None or any(m.split(":")[0] == model_name for m in r.model_ids))
            and matches_filter(r.tags, tags)
            and matches_filter(r.properties, properties)
        ]
        return [Image._from_record(workspace, r) for r in records]

    def add_tags(self, tags: dict[str, str]) -> None:
        self._bind(
            self.workspace,
            self.workspace.emulator_state.images.update(self._record, tags={**self.tags, **tags}),
        )

    def remove_tags(self, tags: Sequence[str]) -> None:
        remaining = {k: v for k, v in self.tags.items() if k not in set(tags)}
        self._bind(
            self.workspace,
            self.workspace.emulator_state.images.update(self._record, tags=remaining),
        )

    def add_properties(self, properties: dict[str, str]) -> None:
        clash = sorted(k for k in properties if k in self.properties)
        if clash:
            raise WebserviceException(
                "Error, properties are immutable, the following keys cannot be added/modified: "
                + ",".join(clash)
            )
        merged = {**self.properties, **properties}
        self._bind(
            self.workspace,
            self.workspace.emulator_state.images.update(self._record, properties=merged),
        )

    def update(self, tags: dict[str, str]) -> None:
        self._bind(
            self.workspace, self.workspace.emulator_state.images.update(self._record, tags=tags)
        )

    def delete(self) -> None:
        """Delete this image version."""
        self.workspace.emulator_state.images.delete(self._record)

    def get_logs(self) -> str:
        """The build log's text (the emulator serves it from ``image_build_log_uri``)."""
        path = log_path(self._record)
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def serialize(self) -> dict[str, Any]:
        return {
            "createdTime": self._record.created_time,
            "creationState": self.creation_state,
            "description": self.description,
            "id": self.id,
            "imageBuildLogUri": self.image_build_log_uri,
            "imageLocation": self.image_location,
            "generatedDockerFileUri": self.generated_dockerfile_uri,
            "imageType": self.image_type,
            "imageFlavor": self.image_flavor,
            "modelIds": self.model_ids,
            "modelDetails": [m.serialize() for m in self.models],
            "name": self.name,
            "tags": self.tags,
            "properties": self.properties,
            "version": self.version,
            "workspaceName": self.workspace.name,
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(workspace={self.workspace!r}, name={self.name}, id={self.id}, "
            f"tags={self.tags}, properties={self.properties}, version={self.version})"
        )


class ContainerImage(ImageContents, ImageRun, Image):
    """A Docker image that serves a model over HTTP (``imageFlavor`` ``WebApiContainer``)."""

    @staticmethod
    def image_configuration(  # type: ignore[override]
        execution_script: str,
        runtime: str,
        conda_file: str | None = None,
        docker_file: str | None = None,
        schema_file: str | None = None,
        dependencies: Sequence[str] | None = None,
        enable_gpu: bool | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        base_image: str | None = None,
        base_image_registry: object = None,
        cuda_version: str | None = None,
    ) -> ContainerImageConfig:
        """The SDK's factory for :class:`ContainerImageConfig`."""
        return ContainerImageConfig(
            execution_script,
            runtime,
            conda_file=conda_file,
            docker_file=docker_file,
            schema_file=schema_file,
            dependencies=dependencies,
            enable_gpu=enable_gpu,
            tags=tags,
            properties=properties,
            description=description,
            base_image=base_image,
            base_image_registry=base_image_registry,
            cuda_version=cuda_version,
        )


def image_of(workspace: Workspace, record: ImageRecord) -> Image:
    """The SDK object (``ContainerImage``, or its flavor's class) over a stored image row: how
    the CLI and portal show every image version, model packages included."""
    return Image._from_record(workspace, record)


#: Images Azure keeps out of ``Image.list``: model packages and environment images (those live
#: in the workspace's container registry, see environment_build.py).
_NOT_LISTED = ("ModelPackage", ENVIRONMENT_FLAVOR)


def _image_class(flavor: str) -> type[Image]:
    """The subclass for an image flavor (``AccelContainer`` → ``AccelContainerImage``)."""
    if flavor == "AccelContainer":
        from emulator.sdk.accel import AccelContainerImage

        return AccelContainerImage
    return ContainerImage
