"""``azureml.core.Model``: registration, lookup and path resolution with the SDK's rules."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.exceptions import ModelPathNotFound
from emulator.models.naming import validate_model_name
from emulator.models.records import ModelRecord
from emulator.models.registry import ModelRegistry, latest_per_name, not_found_message
from emulator.models.resolution import closest_name, resolve_local
from emulator.sdk import dataset_model_samples as model_samples
from emulator.sdk.exceptions import (
    UserErrorException,
    WebserviceException,
)
from emulator.sdk.model_files import checked_source, download_into_cache
from emulator.sdk.model_members import ModelMembers
from emulator.sdk.translation import v1_errors
from emulator.sdk.workspace import Workspace

if TYPE_CHECKING:
    from emulator.sdk.profile import ModelProfile

__all__ = ["Model"]

TagFilter = Sequence["str | Sequence[str]"]


class Model(ModelMembers):
    """A registered model version; construct it to look one up in a workspace."""

    class Framework:
        """Framework names understood by no-code deployment."""

        CUSTOM = "Custom"
        TENSORFLOW = "TensorFlow"
        SCIKITLEARN = "ScikitLearn"
        ONNX = "Onnx"
        TFKERAS = "TfKeras"
        PYTORCH = "PyTorch"
        MULTI = "Multi"

    def __init__(
        self,
        workspace: Workspace,
        name: str | None = None,
        id: str | None = None,
        tags: TagFilter | None = None,
        properties: TagFilter | None = None,
        version: int | None = None,
        run_id: str | None = None,
        model_framework: str | None = None,
        expand: bool = True,
        **kwargs: Any,
    ) -> None:
        if id is not None:
            name, _, id_version = id.partition(":")
            if id_version:
                version = int(id_version)
        if not name:
            raise WebserviceException("Error, one of id or name must be provided.")
        candidates = _registry(workspace).records(name=name)
        if version is not None:
            candidates = [r for r in candidates if r.version == version]
        candidates = _filter(candidates, tags, properties, model_framework)
        if not candidates:
            raise WebserviceException(
                not_found_message(name=name, id=id, version=version, tags=tags)
                + _suggestion(workspace, name),
                status_code=404,
            )
        self._bind(workspace, candidates[0])

    def _bind(self, workspace: Workspace, record: ModelRecord) -> None:
        self.workspace = workspace
        self._record = record
        self.name = record.name
        self.version = record.version
        self.id = record.model_id
        self.description = record.description
        self.tags = dict(record.tags)
        self.properties = dict(record.properties)
        self.model_framework = record.framework
        self.model_framework_version = record.framework_version
        self.created_time = datetime.fromisoformat(record.created_time)
        self.created_by = record.created_by
        self.url = f"aml://asset/{record.asset_id}"
        self.mime_type = "application/json"
        self.unpack = False
        self.run_id: str | None = None
        self.experiment_name: str | None = None
        self.run: Any = None  # registered from a training run in Azure; never offline
        self.parent_id: str | None = None
        self.derived_model_ids: list[str] | None = None
        self.library_versions = dict(record.library_versions)
        samples = model_samples.load(workspace, record)
        self.sample_input_dataset = samples.sample_input_dataset
        self.sample_output_dataset = samples.sample_output_dataset
        self.resource_configuration = samples.resource_configuration
        self.datasets = samples.datasets

    @property
    def emulator_record(self) -> ModelRecord:
        """The model registry row this object was read from (an emulator addition, not part of the
        SDK): what the CLI, portal and pytest plugin show beyond the SDK's attributes."""
        return self._record

    @classmethod
    def _from_record(cls, workspace: Workspace, record: ModelRecord) -> Model:
        model = cls.__new__(cls)
        model._bind(workspace, record)
        return model

    # -- registration ----------------------------------------------------------------------------

    @staticmethod
    @v1_errors()
    def register(
        workspace: Workspace,
        model_path: str | os.PathLike[str],
        model_name: str,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        datasets: object = None,
        model_framework: str | None = None,
        model_framework_version: str | None = None,
        child_paths: Sequence[str] | None = None,
        sample_input_dataset: object = None,
        sample_output_dataset: object = None,
        resource_configuration: object = None,
    ) -> Model:
        """Register a file or a folder as the next version of ``model_name``."""
        validate_model_name(model_name)
        if model_framework_version and not model_framework:
            raise WebserviceException(
                "Model framework version cannot be provided without a valid framework"
            )
        source = checked_source(model_path)
        for child in child_paths or ():
            if not (source / child).exists():
                raise WebserviceException(f'Error, provided child path "{child}" cannot be found')
        if tags is not None and not isinstance(tags, dict):
            raise WebserviceException("Tags must be a dict")
        if properties is not None and not isinstance(properties, dict):
            raise WebserviceException("Properties must be a dict")
        samples = model_samples.checked(
            workspace, sample_input_dataset, sample_output_dataset, resource_configuration, datasets
        )
        print(f"Registering model {model_name}")
        record = _registry(workspace).register(
            source,
            model_name,
            tags=tags,
            properties=properties,
            description=description,
            framework=model_framework,
            framework_version=model_framework_version,
            child_paths=child_paths,
        )
        model_samples.save(workspace, record, samples)
        return Model._from_record(workspace, record)

    # -- queries ---------------------------------------------------------------------------------

    @staticmethod
    def list(
        workspace: Workspace,
        name: str | None = None,
        tags: TagFilter | None = None,
        properties: TagFilter | None = None,
        run_id: str | None = None,
        latest: bool = False,
        dataset_id: str | None = None,
        expand: bool = True,
        page_count: int = 255,
        model_framework: str | None = None,
    ) -> list[Model]:
        """Registered models, newest version first, filtered like the SDK."""
        if not 20 <= page_count <= 255:
            raise UserErrorException(
                f"Expected page_count value is between 20 and 255. Provided: {page_count}"
            )
        records = _registry(workspace).records(name=name)
        records = _filter(records, tags, properties, model_framework)
        if run_id is not None:
            records = []
        if dataset_id is not None:
            records = [r for r in records if dataset_id in model_samples.ids(workspace, r)]
        if latest:
            records = latest_per_name(records)
        return [Model._from_record(workspace, r) for r in records]

    @staticmethod
    @v1_errors()
    def get_model_path(
        model_name: str, version: int | None = None, _workspace: Workspace | None = None
    ) -> str:
        """Where a model is on disk: laid out in a container, in the working dir, or downloaded."""
        if version is not None and not isinstance(version, int):
            raise WebserviceException("version should be an int")
        if version is not None:
            try:
                return resolve_local(model_name, version)
            except ModelPathNotFound as exc:
                if _workspace is None:
                    raise WebserviceException(exc.message) from exc
                return download_into_cache(_workspace, model_name, version)
        if _workspace is not None:
            return download_into_cache(_workspace, model_name, None)
        return resolve_local(model_name, None)

    @staticmethod
    def deploy(
        workspace: Workspace,
        name: str,
        models: Sequence[Any],
        inference_config: Any = None,
        deployment_config: Any = None,
        deployment_target: Any = None,
        overwrite: bool = False,
        show_output: bool = False,
    ) -> Any:
        """Build an image for ``models`` + ``inference_config`` and deploy it as ``name``;
        returns the service at once (``Transitioning``: ``wait_for_deployment``)."""
        from emulator.sdk.webservice.deploy import deploy_models

        return deploy_models(
            workspace,
            name,
            models,
            inference_config,
            deployment_config,
            deployment_target,
            overwrite,
            show_output,
        )

    @staticmethod
    def profile(
        workspace: Workspace,
        profile_name: str,
        models: Sequence[Any],
        inference_config: Any,
        input_dataset: Any = None,
        cpu: float | None = None,
        memory_in_gb: float | None = None,
        description: str | None = None,
    ) -> ModelProfile:
        """Measure the models' CPU, memory and latency; returns a running ``ModelProfile``."""
        from emulator.sdk.profile import profile_models

        return profile_models(
            workspace,
            profile_name,
            models,
            inference_config,
            input_dataset,
            cpu,
            memory_in_gb,
            description,
        )

    @staticmethod
    def package(
        workspace: Workspace,
        models: Sequence[Any],
        inference_config: Any = None,
        generate_dockerfile: bool = False,
        image_name: str | None = None,
        image_label: str | None = None,
    ) -> Any:
        """Package models into an image, or into a Dockerfile + context to ``save()``."""
        from emulator.sdk.package import package_models

        return package_models(workspace, models, inference_config, generate_dockerfile, image_name)

    # -- changes ---------------------------------------------------------------------------------

    @v1_errors()
    def download(
        self,
        target_dir: str | os.PathLike[str] = ".",
        exist_ok: bool = False,
        exists_ok: bool | None = None,
    ) -> str:
        """Recreate the registered file or folder under ``target_dir``; returns its path."""
        overwrite = exist_ok if exists_ok is None else exists_ok
        return str(_registry(self.workspace).materialize(self._record, Path(target_dir), overwrite))

    def add_tags(self, tags: dict[str, str]) -> None:
        self._update(add_tags=tags)

    def remove_tags(self, tags: Sequence[str]) -> None:
        self._update(remove_tags=tags)

    def add_properties(self, properties: dict[str, str]) -> None:
        self._update(add_properties=properties)

    def update_tags_properties(
        self,
        add_tags: dict[str, str] | None = None,
        remove_tags: Sequence[str] | None = None,
        add_properties: dict[str, str] | None = None,
    ) -> None:
        self._update(
            add_tags=add_tags, remove_tags=remove_tags or (), add_properties=add_properties
        )

    def update(
        self,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        sample_input_dataset: object = None,
        sample_output_dataset: object = None,
        resource_configuration: object = None,
        **kwargs: Any,
    ) -> None:
        """Replace the tags, the description, the sample datasets and/or the resources."""
        model_samples.update(
            self.workspace,
            self._record,
            sample_input_dataset,
            sample_output_dataset,
            resource_configuration,
        )
        remove = list(self.tags) if tags is not None else []
        self._update(add_tags=tags, remove_tags=remove, description=description)

    def add_dataset_references(self, datasets: Sequence[tuple[str, Any]]) -> None:
        """Add ``(scenario, dataset)`` pairs to this version's dataset references."""
        model_samples.add_references(self.workspace, self._record, datasets)
        self._bind(self.workspace, self._record)

    @v1_errors()
    def _update(self, **changes: Any) -> None:
        self._bind(self.workspace, _registry(self.workspace).update(self._record, **changes))

    def delete(self) -> None:
        """Delete this version; later registrations never reuse its number."""
        _registry(self.workspace).delete(self._record)

    # -- (de)serialization -----------------------------------------------------------------------

    def serialize(self) -> dict[str, Any]:
        """The service's JSON shape of this model."""
        return {
            "createdTime": self._record.created_time,
            "createdBy": {"userName": self.created_by},
            "description": self.description,
            "id": self.id,
            "mimeType": self.mime_type,
            "name": self.name,
            "framework": self.model_framework,
            "frameworkVersion": self.model_framework_version,
            "tags": self.tags,
            "properties": self.properties,
            "unpack": self.unpack,
            "url": self.url,
            "version": self.version,
            "experimentName": self.experiment_name,
            "runId": self.run_id,
            **model_samples.load(self.workspace, self._record).serialize(),
        }

    @staticmethod
    def deserialize(workspace: Workspace, model_payload: dict[str, Any]) -> Model:
        """The registered model that ``model_payload`` (from :meth:`serialize`) describes."""
        return Model(workspace, name=model_payload["name"], version=model_payload["version"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Model):
            return NotImplemented
        return self.workspace == other.workspace and self.id == other.id

    def __hash__(self) -> int:
        return hash((self.workspace, self.id))

    def __repr__(self) -> str:
        return (
            f"Model(workspace={self.workspace!r}, name={self.name}, id={self.id}, "
            f"version={self.version}, tags={self.tags}, properties={self.properties})"
        )


def _registry(workspace: Workspace) -> ModelRegistry:
    return workspace.emulator_state.models


def matches_filter(values: dict[str, str], wanted: TagFilter | None) -> bool:
    """The SDK's filter forms: ``['key']`` (key present) or ``[['key', 'value']]`` (equal)."""
    for item in wanted or ():
        if isinstance(item, str):
            if item not in values:
                return False
        else:
            key, value = item[0], item[1]
            if values.get(key) != value:
                return False
    return True


def _filter(
    records: list[ModelRecord],
    tags: TagFilter | None,
    properties: TagFilter | None,
    framework: str | None,
) -> list[ModelRecord]:
    return [
        r
        for r in records
        if matches_filter(r.tags, tags)
        and matches_filter(r.properties, properties)
        and (framework is None or r.framework == framework)
    ]


def _suggestion(workspace: Workspace, name: str) -> str:
    names = sorted({r.name for r in _registry(workspace).records(latest=True)})
    guess = closest_name(name, names)
    if guess and guess != name:
        return f". [emulator] Did you mean '{guess}'? Registered: {', '.join(names)}"
    if names:
        return f". [emulator] Registered models: {', '.join(names)}"
    return ". [emulator] No models are registered in this workspace yet."


def resolve_models(workspace: Workspace, models: Sequence[Any]) -> tuple[ModelRecord, ...]:
    """Models for an image or deployment: ``Model`` objects, ``name:version`` ids, or local
    paths (registered on the fly under their basename, as the SDK does)."""
    records: list[ModelRecord] = []
    for item in models or ():
        if isinstance(item, Model):
            records.append(item._record)
        elif isinstance(item, str) and ":" in item and not os.path.exists(item):
            records.append(Model(workspace, id=item)._record)
        elif isinstance(item, (str, os.PathLike)):
            name = os.path.basename(os.path.normpath(os.fspath(item)))[:30]
            records.append(Model.register(workspace, item, name)._record)
        else:
            raise WebserviceException(
                f"Unsupported model {item!r}: pass Model objects, model ids (name:version) or "
                "paths of files or folders to register."
            )
    return tuple(records)
