"""Immutable records of registered models, as read from the metadata database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from sqlite3 import Row

#: The property that keeps an SDK v2 model's type (``triton_model``, ``mlflow_model``; none is
#: ``custom_model``): what a deployment without code or environment is served by. The ARM face
#: answers it as ``modelType`` and leaves it out of the model's ``properties``.
V2_TYPE_PROPERTY = "azureml.modelType"
#: An SDK v2 model's type when none was given (SDK v1 models included).
CUSTOM_MODEL = "custom_model"


@dataclass(frozen=True)
class ModelFile:
    """One file of a model; ``path`` is relative to the registered path's parent."""

    path: str
    digest: str
    size: int
    executable: bool


@dataclass(frozen=True)
class ModelRecord:
    """A registered model version.

    ``kind`` is ``file`` or ``folder``; ``root_name`` is the basename that was registered, which
    is the single entry of ``azureml-models/<name>/<version>/`` in a container.
    """

    id: int
    workspace_id: int
    name: str
    version: int
    kind: str
    root_name: str
    description: str | None
    tags: dict[str, str]
    properties: dict[str, str]
    framework: str | None
    framework_version: str | None
    library_versions: dict[str, str]
    asset_id: str
    created_time: str
    created_by: str
    files: tuple[ModelFile, ...]

    @property
    def v2_type(self) -> str:
        """The SDK v2 type it was registered with (:data:`V2_TYPE_PROPERTY`)."""
        return self.properties.get(V2_TYPE_PROPERTY) or CUSTOM_MODEL

    @property
    def model_id(self) -> str:
        """The SDK's ``Model.id``: ``<name>:<version>``."""
        return f"{self.name}:{self.version}"

    @classmethod
    def from_rows(cls, row: Row, files: list[Row]) -> ModelRecord:
        return cls(
            id=row["id"],
            workspace_id=row["workspace_id"],
            name=row["name"],
            version=row["version"],
            kind=row["kind"],
            root_name=row["root_name"],
            description=row["description"],
            tags=json.loads(row["tags"]),
            properties=json.loads(row["properties"]),
            framework=row["framework"],
            framework_version=row["framework_version"],
            library_versions=json.loads(row["library_versions"]),
            asset_id=row["asset_id"],
            created_time=row["created_time"],
            created_by=row["created_by"],
            files=tuple(
                ModelFile(f["path"], f["digest"], f["size"], bool(f["executable"])) for f in files
            ),
        )
