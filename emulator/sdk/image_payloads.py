"""The SDK's image-service payload builders: ``ContainerImageConfig.build_create_payload`` /
``create_local_debug_payload`` and ``InferenceConfig.build_create_payload`` /
``build_profile_payload``.

In the SDK each builds the JSON request of Azure's image (or profiling) service from the
configuration, uploading every file it names first (``upload_dependency``: into the
workspace's storage under ``LocalUpload/<8 hex>/<name>``, a folder as a ``<8 hex>.tar.gz``) and
putting the uploaded location in the payload. The emulator does the same against its own
storage: the files land on the workspace's default datastore (``workspaceblobstore``) under
the same ``LocalUpload`` paths, and the payload names them by their datastore URI
(``azureml://datastores/workspaceblobstore/paths/LocalUpload/...``), which the emulator reads
back (the SDK passes such URIs through unchanged too). Where the SDK uploads a generated file
the emulator does not need, it uploads what its images use instead: the entry script itself
as the driver (the SDK wraps it in a schema-handling script) and a requirements file naming
``azureml-defaults`` (the SDK names its internal ``azureml-model-management-sdk``).
"""

from __future__ import annotations

import os
import tarfile
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.assets.blob_containers import BlobContainers
from emulator.assets.datastore import DEFAULT_DATASTORE, blob_container, storage_account
from emulator.environments.environment import environment_definition
from emulator.sdk.datastore_reference import datastore_uri
from emulator.sdk.exceptions import WebserviceException
from emulator.sdk.image_contents import runtime_payload

if TYPE_CHECKING:
    from emulator.sdk.workspace import Workspace

_PASSED_THROUGH = ("http", "wasb", "aml://", "azureml://")


def upload_dependency(
    workspace: Workspace, dependency: str, create_tar: bool = False, arcname: str | None = None
) -> tuple[str, str]:
    """The SDK's ``upload_dependency``: ``(where it is now, its name)``."""
    if dependency.startswith(_PASSED_THROUGH):
        return dependency, dependency.rstrip("/").split("/")[-1]
    path = Path(os.path.normpath(os.path.abspath(dependency)))
    if not path.exists():
        raise WebserviceException(f"Error resolving dependency: no such file or directory {path}")
    record = workspace.emulator_state.record
    blobs = BlobContainers(workspace.emulator_state.root)
    folder = f"LocalUpload/{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as scratch:
        name, source = path.name, path
        if create_tar:
            name = uuid.uuid4().hex[:8] + ".tar.gz"
            source = Path(scratch, name)
            with tarfile.open(source, "w:gz") as tar:
                tar.add(path, arcname=arcname or path.name)
        blobs.put(storage_account(record), blob_container(record), f"{folder}/{name}", source)
    return datastore_uri(DEFAULT_DATASTORE, f"{folder}/{name}"), name


def _requirements(workspace: Workspace) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch, "requirements.txt")
        path.write_text("azureml-defaults\n", encoding="utf-8")
        return upload_dependency(workspace, str(path))[0]


def _base_image(config: Any, payload: dict[str, Any]) -> None:
    """The SDK's ``_add_base_image_to_payload`` (the runtime type was set by ``_runtime``)."""
    if not config.base_image:
        return
    payload["baseImage"] = config.base_image
    registry = config.base_image_registry
    fields = [getattr(registry, key, None) for key in ("address", "username", "password")]
    if all(fields):
        keys = ("location", "user", "password")
        payload["baseImageRegistryInfo"] = dict(zip(keys, fields, strict=True))
    elif any(fields):
        raise WebserviceException(
            "Address, Username and Password must be provided for base image registry"
        )


def _image_payload(config: Any, workspace: Workspace, name: str, model_ids: Any) -> dict[str, Any]:
    runtime = runtime_payload(config)
    runtime["properties"]["pipRequirements"] = _requirements(workspace)
    return {
        "name": name,
        "driverProgram": "driver",
        "description": config.description,
        "tags": None,
        "properties": None,
        "modelIds": list(model_ids) if model_ids else None,
        "assets": [],
        "targetRuntime": runtime,
        "dockerFileUri": None,
        "imageType": "Docker",
        "imageFlavor": "WebApiContainer",
    }


def container_image_payload(
    config: Any, workspace: Workspace, name: str, model_ids: Any
) -> dict[str, Any]:
    """``ContainerImageConfig.build_create_payload``."""
    payload = _image_payload(config, workspace, name, model_ids)
    payload["kvTags"] = config.tags
    payload["properties"] = dict(config.properties or {})
    properties = payload["targetRuntime"]["properties"]
    if config.conda_file:
        properties["condaEnvFile"] = upload_dependency(workspace, config.conda_file)[0]
    if config.docker_file:
        payload["dockerFileUri"] = upload_dependency(workspace, config.docker_file)[0]
    driver = upload_dependency(workspace, config.execution_script)[0]
    payload["assets"].append({"id": "driver", "url": driver, "mimeType": "application/x-python"})
    extra = [config.schema_file] if config.schema_file else []
    for dependency in [*config.dependencies, *extra]:
        url, artifact = upload_dependency(workspace, dependency, create_tar=True)
        payload["assets"].append(
            {"mimeType": "application/octet-stream", "id": artifact, "url": url, "unpack": True}
        )
    _base_image(config, payload)
    return payload


def _entry_assets(config: Any, workspace: Workspace, payload: dict[str, Any]) -> None:
    """The SDK's ``InferenceConfig._handle_assets``: the driver, then the source directory
    (a tarball) or the lone entry script."""
    source = config.source_directory
    entry = config.entry_script.rstrip(os.sep)
    script = os.path.join(source, entry) if source else entry
    url = upload_dependency(workspace, script)[0]
    driver = os.path.basename(entry)
    payload["assets"].append({"id": driver, "url": url, "mimeType": "application/x-python"})
    payload["driverProgram"] = driver
    if source:
        url, artifact = upload_dependency(workspace, source, True, os.path.basename(source))
        asset = {"mimeType": "application/octet-stream", "id": artifact, "url": url}
        payload["assets"].append({**asset, "unpack": True})
    else:
        url, artifact = upload_dependency(workspace, entry)
        payload["assets"].append(
            {"mimeType": "application/octet-stream", "id": artifact, "url": url}
        )


def inference_image_payload(
    config: Any, workspace: Workspace, name: str, model_ids: Any
) -> dict[str, Any]:
    """``InferenceConfig.build_create_payload`` (the legacy, runtime-based form)."""
    if not config.runtime:
        raise WebserviceException(
            "build_create_payload builds the request of a runtime-based InferenceConfig; this "
            "one has an environment. [emulator] Give runtime= (and conda_file=) instead, or "
            "deploy with the environment (Model.deploy / Model.package)."
        )
    payload = _image_payload(config, workspace, name, model_ids)
    properties = payload["targetRuntime"]["properties"]
    if config.conda_file:
        conda = os.path.join(config.source_directory or "", config.conda_file.rstrip(os.sep))
        properties["condaEnvFile"] = upload_dependency(workspace, conda)[0]
    if config.extra_docker_file_steps:
        steps = config.extra_docker_file_steps.rstrip(os.sep)
        steps = os.path.join(config.source_directory or "", steps)
        payload["dockerFileUri"] = upload_dependency(workspace, steps)[0]
    _entry_assets(config, workspace, payload)
    _base_image(config, payload)
    return payload


def profile_payload(
    config: Any,
    workspace: Workspace,
    profile_name: str,
    models: Any,
    dataset_id: str | None,
    resources: Any,
    description: str | None,
) -> dict[str, Any]:
    """``InferenceConfig.build_profile_payload``: the profiling request, with the environment
    image request (``modelIds``, assets, the environment's definition) inside."""
    requirements = {"cpu": resources.cpu, "memoryInGB": resources.memory_in_gb}
    requirements = {key: value for key, value in requirements.items() if value}
    image_request: dict[str, Any] = {
        "driverProgram": "driver",
        "assets": [],
        "modelIds": [model.id for model in models or []],
    }
    _entry_assets(config, workspace, image_request)
    if config.environment is not None:
        image_request["environment"] = environment_definition(config.environment)
    payload: dict[str, Any] = {
        "name": profile_name,
        "description": description,
        "inputDatasetId": dataset_id,
        "environmentImageRequest": image_request,
    }
    if requirements:
        payload["containerResourceRequirements"] = requirements
    return payload


class ContainerImagePayload:
    """``ContainerImageConfig.build_create_payload`` (see the module's docstring)."""

    def build_create_payload(
        self, workspace: Workspace, name: str, model_ids: list[str]
    ) -> dict[str, Any]:
        """The SDK's image creation payload, its files uploaded to the workspace's storage."""
        return container_image_payload(self, workspace, name, model_ids)


class LocalDebugPayload:
    """``ContainerImageConfig.create_local_debug_payload``: the SDK's payload for a local image
    named ``local`` (requirement and conda files by name; only the Docker file is uploaded)."""

    tags: dict[str, str] | None
    properties: dict[str, str] | None
    description: str | None
    enable_gpu: bool | None
    cuda_version: str | None
    docker_file: str | None
    conda_file: str | None

    def create_local_debug_payload(
        self, workspace: Workspace, model_ids: list[str]
    ) -> dict[str, Any]:
        """The SDK's payload (``WebserviceException`` for a GPU image, as there)."""
        if self.enable_gpu or self.cuda_version:
            raise WebserviceException("Local web services do not support GPUs")
        payload: dict[str, Any] = {
            "name": "local",
            "driverProgram": "driver",
            "description": self.description,
            "kvTags": self.tags,
            "tags": None,
            "properties": self.properties,
            "modelIds": list(model_ids) if model_ids else None,
            "assets": [],
            "targetRuntime": runtime_payload(self),
            "dockerFileUri": None,
            "imageType": "Docker",
            "imageFlavor": "WebApiContainer",
        }
        properties = payload["targetRuntime"]["properties"]
        properties["pipRequirements"] = "requirements.txt"
        if self.docker_file:
            payload["dockerFileUri"] = upload_dependency(workspace, self.docker_file)[0]
        if self.conda_file:
            properties["condaEnvFile"] = os.path.basename(self.conda_file.rstrip(os.sep))
        _base_image(self, payload)
        return payload
