"""A registered model's sample input and output datasets and its resource configuration:
what ``Model.register(sample_input_dataset=, sample_output_dataset=, resource_configuration=)``
records and ``model.sample_input_dataset`` / ``model.resource_configuration`` show back.

Azure keeps them on the model version (``sampleInputData: aml://dataset/<id>``,
``resourceRequirements``); ``Model.update`` may replace them. They are kept per model
version in ``<workspace dir>/model-samples/<name>/<version>.json`` (written then renamed, so
another process never reads half a file), each dataset by its id and whole definition: a
registered dataset reads back as its registered version, an unregistered one (Azure saves it
anonymously) from the definition.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.models.records import ModelRecord
from emulator.sdk import dataset_records
from emulator.sdk.dataset_abstract import AbstractDataset, dataset_from
from emulator.sdk.exceptions import UserErrorException, WebserviceException
from emulator.sdk.resource_configuration import ResourceConfiguration
from emulator.sdk.workspace import Workspace


@dataclass(frozen=True)
class ModelSamples:
    """What a model version was registered with (each None when not given), and its dataset
    references by scenario (``Model.register(datasets=[('training', ds)])``)."""

    sample_input_dataset: AbstractDataset | None
    sample_output_dataset: AbstractDataset | None
    resource_configuration: ResourceConfiguration | None
    datasets: dict[str, list[AbstractDataset]] = field(default_factory=dict)

    def serialize(self) -> dict[str, Any]:
        """The model's fields as the service shows them."""
        return {
            "datasets": [
                {"name": scenario, "id": dataset.id}
                for scenario, found in self.datasets.items()
                for dataset in found
            ],
            "sampleInputData": _url(self.sample_input_dataset),
            "sampleOutputData": _url(self.sample_output_dataset),
            "resourceRequirements": (
                self.resource_configuration.serialize() if self.resource_configuration else None
            ),
        }


def checked(
    workspace: Workspace,
    sample_input_dataset: object,
    sample_output_dataset: object,
    resource_configuration: object,
    datasets: object = None,
) -> ModelSamples:
    """The SDK's checks at registration (before anything is stored)."""
    references = _references(workspace, datasets)
    for param, value in (
        ("sample input dataset", sample_input_dataset),
        ("sample output dataset", sample_output_dataset),
    ):
        if value is not None and not isinstance(value, AbstractDataset):
            raise WebserviceException(
                f"Invalid {param} of type {type(value)} passed, must be of type TabularDataset "
                "or FileDataset"
            )
    if resource_configuration is not None:
        if not isinstance(resource_configuration, ResourceConfiguration):
            raise WebserviceException(
                f"Invalid resource_configuration of type {type(resource_configuration)}: pass "
                "ResourceConfiguration(cpu=..., memory_in_gb=..., gpu=...)."
            )
        resource_configuration._validate_configuration()
    for dataset in (sample_input_dataset, sample_output_dataset):
        if isinstance(dataset, AbstractDataset):
            dataset._ensure_saved(workspace)
    return ModelSamples(
        sample_input_dataset if isinstance(sample_input_dataset, AbstractDataset) else None,
        sample_output_dataset if isinstance(sample_output_dataset, AbstractDataset) else None,
        resource_configuration
        if isinstance(resource_configuration, ResourceConfiguration)
        else None,
        references,
    )


def _references(workspace: Workspace, datasets: object) -> dict[str, list[AbstractDataset]]:
    """``[(scenario, dataset), ...]`` as scenario → datasets, each dataset saved."""
    if datasets is None:
        return {}
    if not isinstance(datasets, Sequence) or isinstance(datasets, str):
        raise WebserviceException(
            "datasets must be a list of (scenario, dataset) tuples, e.g. [('training', ds)]."
        )
    references: dict[str, list[AbstractDataset]] = {}
    for pair in datasets:
        scenario, dataset = pair if isinstance(pair, tuple) and len(pair) == 2 else (None, pair)
        if not isinstance(dataset, AbstractDataset) or not isinstance(scenario, str):
            raise WebserviceException(
                f"Invalid dataset of type {type(dataset)} passed, must be of type Dataset or "
                "DatasetSnapshot. [emulator] Pass (scenario, TabularDataset or FileDataset) tuples."
            )
        dataset._ensure_saved(workspace)
        references.setdefault(scenario, []).append(dataset)
    return references


def add_references(workspace: Workspace, record: ModelRecord, datasets: object) -> None:
    """``Model.add_dataset_references``: more (scenario, dataset) pairs for the version."""
    added = _references(workspace, datasets)
    current = load(workspace, record)
    merged = {k: list(v) for k, v in current.datasets.items()}
    for scenario, found in added.items():
        merged.setdefault(scenario, []).extend(found)
    save(
        workspace,
        record,
        ModelSamples(
            current.sample_input_dataset,
            current.sample_output_dataset,
            current.resource_configuration,
            merged,
        ),
    )


def save(workspace: Workspace, record: ModelRecord, samples: ModelSamples) -> None:
    """Keep ``samples`` with the model version ``record`` (nothing when none was given)."""
    data = {
        "sampleInputData": _entry(samples.sample_input_dataset),
        "sampleOutputData": _entry(samples.sample_output_dataset),
        "resourceRequirements": (
            samples.resource_configuration.serialize() if samples.resource_configuration else None
        ),
        "datasets": [
            {"scenario": scenario, **(_entry(dataset) or {})}
            for scenario, found in samples.datasets.items()
            for dataset in found
        ],
    }
    if not any(data.values()):
        return
    path = _path(workspace, record)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(temporary, path)


def update(
    workspace: Workspace,
    record: ModelRecord,
    sample_input_dataset: object,
    sample_output_dataset: object,
    resource_configuration: object,
) -> None:
    """``Model.update``: what is given replaces what the version was registered with."""
    if sample_input_dataset is sample_output_dataset is resource_configuration is None:
        return
    given = checked(workspace, sample_input_dataset, sample_output_dataset, resource_configuration)
    current = load(workspace, record)
    save(
        workspace,
        record,
        ModelSamples(
            given.sample_input_dataset or current.sample_input_dataset,
            given.sample_output_dataset or current.sample_output_dataset,
            given.resource_configuration or current.resource_configuration,
            current.datasets,
        ),
    )


def ids(workspace: Workspace, record: ModelRecord) -> set[str]:
    """The ids of every dataset the version refers to (``Model.list(dataset_id=...)``)."""
    samples = load(workspace, record)
    found = [samples.sample_input_dataset, samples.sample_output_dataset]
    found += [dataset for datasets in samples.datasets.values() for dataset in datasets]
    return {dataset.id for dataset in found if dataset is not None and dataset.id}


def load(workspace: Workspace, record: ModelRecord) -> ModelSamples:
    """What the model version was registered with."""
    try:
        data = json.loads(_path(workspace, record).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ModelSamples(None, None, None)
    except (OSError, ValueError) as exc:
        raise UserErrorException(
            f"The sample data of model {record.model_id} cannot be read ({exc}). [emulator] "
            f"The file {_path(workspace, record)} is damaged; register the model again."
        ) from None
    return ModelSamples(
        _dataset(workspace, data.get("sampleInputData")),
        _dataset(workspace, data.get("sampleOutputData")),
        ResourceConfiguration.deserialize(data.get("resourceRequirements")),
        _loaded_references(workspace, data.get("datasets") or []),
    )


def _loaded_references(
    workspace: Workspace, entries: list[dict[str, Any]]
) -> dict[str, list[AbstractDataset]]:
    references: dict[str, list[AbstractDataset]] = {}
    for entry in entries:
        dataset = _dataset(workspace, entry)
        if dataset is not None:
            references.setdefault(entry["scenario"], []).append(dataset)
    return references


def _entry(dataset: AbstractDataset | None) -> dict[str, Any] | None:
    if dataset is None:
        return None
    return {
        "id": dataset.id,
        "registered": dataset.name is not None,
        "definition": dataset._definition,
    }


def _dataset(workspace: Workspace, entry: dict[str, Any] | None) -> AbstractDataset | None:
    if not entry:
        return None
    if entry.get("registered"):
        try:
            stored = dataset_records.by_id(workspace, entry["id"])
        except UserErrorException:
            pass  # its data asset is gone: the definition still says what it was
        else:
            registered: AbstractDataset = dataset_from(stored.definition, workspace, stored)
            return registered
    dataset: AbstractDataset = dataset_from(entry["definition"], workspace)
    dataset._saved_id = entry["id"]
    return dataset


def _url(dataset: AbstractDataset | None) -> str | None:
    return f"aml://dataset/{dataset.id}" if dataset is not None else None


def _path(workspace: Workspace, record: ModelRecord) -> Path:
    return (
        workspace.emulator_state.directory
        / "model-samples"
        / record.name
        / f"{record.version}.json"
    )
