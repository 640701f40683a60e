"""``azureml.data.abstract_dataset.AbstractDataset``: what tabular and file datasets share —
their definition (data URIs, how to read them, steps), registration and lookup.

A dataset object is a definition, evaluated when read: factories and steps (``take``,
``skip``...) build new definitions, nothing is read until rows or files are asked for. The
registry is the workspace's data assets (:mod:`emulator.sdk.dataset_records`).
"""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from emulator.sdk import dataset_records
from emulator.sdk.dataset_paths import DataFile, resolve
from emulator.sdk.exceptions import UserErrorException
from emulator.sdk.not_emulated import not_emulated
from emulator.sdk.workspace import Workspace

if TYPE_CHECKING:
    from emulator.sdk.dataset_records import StoredDataset

__all__ = ["AbstractDataset"]

#: Why a dataset's run-input configurations are not emulated.
RUN_INPUT = (
    "it makes the dataset an input of a training run on compute, and the emulator runs no "
    "training; read the data with to_path/download/mount or to_pandas_dataframe"
)


class AbstractDataset:
    """A dataset definition, registered or not."""

    #: The factories (``Dataset.Tabular.from_delimited_files``...), set by dataset_factory.
    Tabular: ClassVar[type[Any]]
    File: ClassVar[type[Any]]

    def __init__(self) -> None:
        self._definition: dict[str, Any] = {"type": "", "uris": [], "read": None, "steps": []}
        self._workspace: Workspace | None = None
        self._stored: StoredDataset | None = None
        self._saved_id: str | None = None

    @classmethod
    def _create(
        cls,
        definition: dict[str, Any],
        workspace: Workspace | None,
        stored: StoredDataset | None = None,
    ) -> Any:
        dataset = cls()
        dataset._definition = definition
        dataset._workspace = workspace
        dataset._stored = stored
        return dataset

    def _with_step(self, *step: Any) -> Any:
        """A new unregistered dataset: this definition plus ``step``."""
        definition = copy.deepcopy(self._definition)
        definition["steps"].append(list(step))
        return type(self)._create(definition, self._workspace)

    # -- properties ------------------------------------------------------------------------------

    @property
    def id(self) -> str | None:
        """The registered version's id (a GUID); None for a dataset never saved."""
        return self._stored.id if self._stored else self._saved_id

    @property
    def name(self) -> str | None:
        return self._stored.name if self._stored else None

    @property
    def version(self) -> int | None:
        return self._stored.version if self._stored else None

    @property
    def description(self) -> str | None:
        return self._stored.description if self._stored else None

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._stored.tags) if self._stored else {}

    @property
    def data_changed_time(self) -> datetime | None:
        """When the newest of the dataset's files was written (Azure reads the storage's
        last-modified times); ``None`` for a dataset without files."""
        times = [data_file.local.stat().st_mtime for data_file in self._files()]
        return datetime.fromtimestamp(max(times), tz=timezone.utc) if times else None

    @property
    def partition_keys(self) -> list[str]:
        return []

    def get_partition_key_values(self, partition_keys: list[str] | None = None) -> list[Any]:
        """The distinct values of ``partition_keys``: none here, as datasets are created without
        ``partition_format`` (refused by the factories); unknown keys are the SDK's error."""
        unknown = [key for key in partition_keys or [] if key not in self.partition_keys]
        if unknown:
            raise UserErrorException(
                f"{unknown} are invalid partition keys: this dataset has "
                f"{self.partition_keys or 'no partition keys'}."
            )
        return []

    @not_emulated(RUN_INPUT)
    def as_named_input(self, name: str) -> Any: ...

    # -- registration ----------------------------------------------------------------------------

    def register(
        self,
        workspace: Workspace,
        name: str,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        create_new_version: bool = False,
    ) -> Any:
        """Register this definition as ``name`` (a new version with ``create_new_version``)."""
        if not isinstance(workspace, Workspace):
            raise UserErrorException(
                f"Invalid workspace {workspace!r}: pass the Workspace to register the dataset in."
            )
        if not name or not isinstance(name, str):
            raise UserErrorException(
                "A dataset needs a name to be registered: register(ws, name=...)."
            )
        if tags is not None and not isinstance(tags, dict):
            raise UserErrorException("tags must be a dict of strings.")
        if self._workspace is not None and self._workspace != workspace:
            raise UserErrorException(
                "The dataset's datastore paths belong to another workspace: register it in "
                f"{self._workspace.name}."
            )
        stored = dataset_records.register(
            workspace, self._definition, name, description, tags, create_new_version
        )
        return type(self)._create(stored.definition, workspace, stored)

    def update(self, description: str | None = None, tags: dict[str, str] | None = None) -> Any:
        """Replace the description and/or the tags of this registered version."""
        changes: dict[str, Any] = {}
        if description is not None:
            changes["description"] = description
        if tags is not None:
            changes["tags"] = dict(tags)
        return self._changed(changes)

    def add_tags(self, tags: dict[str, str] | None = None) -> Any:
        return self._changed({"tags": {**self.tags, **(tags or {})}})

    def remove_tags(self, tags: list[str] | None = None) -> Any:
        return self._changed(
            {"tags": {k: v for k, v in self.tags.items() if k not in (tags or [])}}
        )

    def unregister_all_versions(self) -> None:
        """Unregister every version of this dataset's name (the definition stays usable)."""
        if self._stored is None or self._workspace is None:
            raise UserErrorException("To unregister this dataset it must be registered.")
        dataset_records.unregister_all(self._workspace, self._stored.name)
        self._stored = None

    def _changed(self, changes: dict[str, Any]) -> Any:
        if self._stored is None or self._workspace is None:
            raise UserErrorException("To update this dataset it must be registered.")
        self._stored = dataset_records.update(self._workspace, self._stored, **changes)
        return self

    def _ensure_saved(self, workspace: Workspace) -> str:
        """The id ``Model.register`` records (an unregistered dataset gets one here, as Azure
        saves it anonymously)."""
        if self.id is None:
            self._saved_id = str(uuid.uuid4())
        assert self.id is not None
        return self.id

    # -- lookup ----------------------------------------------------------------------------------

    @staticmethod
    def get_by_name(
        workspace: Workspace, name: str, version: str | int = "latest", **kwargs: Any
    ) -> Any:
        """The registered dataset ``name`` (its latest version, or ``version``)."""
        return _object(workspace, dataset_records.by_name(workspace, name, version))

    @staticmethod
    def get_by_id(workspace: Workspace, id: str, **kwargs: Any) -> Any:
        """The registered dataset version whose id is ``id``."""
        return _object(workspace, dataset_records.by_id(workspace, id))

    @staticmethod
    def get_all(workspace: Workspace) -> dict[str, Any]:
        """Name → latest version of every registered dataset (``ws.datasets``)."""
        return {s.name: _object(workspace, s) for s in dataset_records.latest_all(workspace)}

    # -- reading ---------------------------------------------------------------------------------

    def _files(self) -> list[DataFile]:
        return resolve(self._workspace, self._definition["uris"])

    def __repr__(self) -> str:
        shown = {"source": self._definition["uris"], "steps": self._definition["steps"]}
        if self._stored is not None:
            shown["registration"] = {
                "id": self._stored.id,
                "name": self._stored.name,
                "version": self._stored.version,
                "workspace": self._workspace.name if self._workspace else None,
            }
        return f"{type(self).__name__}\n{shown}"


def _object(workspace: Workspace, stored: StoredDataset) -> Any:
    return dataset_from(stored.definition, workspace, stored)


def dataset_from(
    definition: dict[str, Any], workspace: Workspace | None, stored: StoredDataset | None = None
) -> Any:
    """The ``TabularDataset`` or ``FileDataset`` of ``definition``."""
    factory = AbstractDataset.Tabular if definition["type"] == "Tabular" else AbstractDataset.File
    return factory._DATASET._create(definition, workspace, stored)
