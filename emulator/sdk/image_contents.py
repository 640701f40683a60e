"""What a legacy image is made of, in the SDK's words: ``ContainerImage.assets`` /
``target_runtime``.

Azure's image service keeps the request ``ContainerImageConfig.build_create_payload`` sent
(``assets``: the wrapped driver and one tarball per dependency; ``targetRuntime``: the runtime
type, the architecture and the uploaded requirement files) and returns it with the image. The
emulator builds from a local context instead (:mod:`emulator.images.context`), so the assets
are the files of that context's ``azureml-app`` folder and the runtime's files are its
``environment`` files, as ``file://`` URIs. The runtime type (``python`` → ``Python``,
``spark-py`` → ``SparkPython``, a custom base image → ``PythonCustom``) is not in the context:
:func:`keep_target_runtime` writes it next to the build when the image is created.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emulator.images.records import ImageRecord
from emulator.sdk.exceptions import WebserviceException

#: The SDK's ``SUPPORTED_RUNTIMES`` / ``CUSTOM_BASE_IMAGE_SUPPORTED_RUNTIMES``.
_RUNTIME_TYPES = {"spark-py": "SparkPython", "python": "Python", "python-slim": "PythonSlim"}
_CUSTOM_RUNTIME_TYPES = {"python": "PythonCustom"}
_KEPT = "target_runtime.json"
_MODELS = "azureml-models"


class Asset:
    """A file an image packages (the SDK's deprecated ``azureml.core.image.image.Asset``)."""

    def __init__(self, id: str, mime_type: str, unpack: bool, url: str) -> None:
        self.id = id
        self.mime_type = mime_type
        self.unpack = unpack
        self.url = url

    def serialize(self) -> dict[str, Any]:
        return {"id": self.id, "mimeType": self.mime_type, "unpack": self.unpack, "url": self.url}

    def __repr__(self) -> str:
        return f"Asset({self.serialize()})"


class TargetRuntime:
    """How an image runs its driver (the SDK's deprecated ``TargetRuntime``)."""

    def __init__(
        self, properties: dict[str, Any], runtime_type: str, targetArchitecture: str
    ) -> None:
        self.properties = properties
        self.runtime_type = runtime_type
        self.targetArchitecture = targetArchitecture

    def serialize(self) -> dict[str, Any]:
        return {
            "properties": self.properties,
            "runtimeType": self.runtime_type,
            "targetArchitecture": self.targetArchitecture,
        }

    def __repr__(self) -> str:
        return f"TargetRuntime({self.serialize()})"


def runtime_payload(config: Any) -> dict[str, Any]:
    """The ``targetRuntime`` the SDK's payload builders make of a configuration, files aside."""
    runtime = str(config.runtime).lower()
    types = _CUSTOM_RUNTIME_TYPES if config.base_image else _RUNTIME_TYPES
    if runtime not in types:
        raise WebserviceException(
            f"Custom base image is not supported for {config.runtime} run time. Supported "
            "runtimes are: python"
        )
    properties: dict[str, Any] = {}
    if config.enable_gpu:
        properties["installCuda"] = config.enable_gpu
    if config.cuda_version:
        properties["cudaVersion"] = config.cuda_version
    return {"runtimeType": types[runtime], "targetArchitecture": "amd64", "properties": properties}


def keep_target_runtime(record: ImageRecord, config: Any) -> None:
    """Write the runtime a ``ContainerImageConfig`` asked for beside ``record``'s build (other
    configurations, an environment's, have none, as their images have none in Azure)."""
    if not hasattr(config, "runtime"):
        return
    directory = Path(record.directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / _KEPT).write_text(json.dumps(runtime_payload(config)), encoding="utf-8")


class ImageContents:
    """``ContainerImage``'s ``assets`` and ``target_runtime``, read from its build."""

    _record: ImageRecord

    @property
    def assets(self) -> list[Asset]:
        """The driver (the entry script) and each other file or folder the image packages
        under ``/var/azureml-app`` (the image's models are listed by ``model_ids``)."""
        app = Path(self._record.directory) / "context" / "azureml-app"
        entry = self._record.entry_script
        found: list[Asset] = []
        for path in sorted(app.iterdir()) if app.is_dir() else []:
            uri = path.resolve().as_uri()
            if path.name == entry:
                found.insert(0, Asset("driver", "application/x-python", False, uri))
            elif path.name != _MODELS:
                found.append(Asset(path.name, "application/octet-stream", True, uri))
        return found

    @property
    def target_runtime(self) -> TargetRuntime | None:
        """The runtime the image configuration asked for, with the requirement files the
        build installed (``None`` for an image built from an ``Environment``)."""
        directory = Path(self._record.directory)
        kept = directory / _KEPT
        if not kept.is_file():
            return None
        runtime = json.loads(kept.read_text(encoding="utf-8"))
        environment = directory / "context" / "environment"
        properties = dict(runtime["properties"])
        for key, name in (("pipRequirements", "requirements.txt"), ("condaEnvFile", "conda.yml")):
            if (environment / name).is_file():
                properties[key] = (environment / name).resolve().as_uri()
        return TargetRuntime(properties, runtime["runtimeType"], runtime["targetArchitecture"])
