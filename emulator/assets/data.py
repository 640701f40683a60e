"""Data assets (``ml_client.data``): versions of a name, each a ``uri_file``, ``uri_folder`` or
``mltable`` pointing at its data by ``dataUri`` (a datastore path the client uploaded a local
file or folder to, another datastore path, or an ``https://`` URL).

Stored with the other versioned assets (:class:`~emulator.assets.versions.AssetVersions`, kind
``data``) as the client's specification. As in Azure, a version's data URI and type never
change; its description, tags and archived flag may (the client's ``data.archive`` PUTs the
version back with ``isArchived``), and the same definition again returns the version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from emulator.assets.versions import AssetVersion, AssetVersions
from emulator.exceptions import BadArgument, Conflict
from emulator.store.root import EmulatorRoot

DataType = Literal["uri_file", "uri_folder", "mltable"]
DATA_TYPES: tuple[DataType, ...] = ("uri_file", "uri_folder", "mltable")

#: What Azure lets change on an existing data version.
MUTABLE = frozenset({"description", "tags", "isArchived"})

#: Azure's text for a changed data URI or type (409 UserError).
_CHANGED = (
    "A data version with this name and version already exists. If you are trying to create a "
    "new data version, use a different name or version. If you are trying to update an existing "
    "data version, the existing asset's data uri cannot be changed. Only tags, description, and "
    "isArchived can be updated."
)


@dataclass(frozen=True)
class DataVersion:
    """One data version as readers need it: where its data is and of which type."""

    name: str
    version: str
    data_type: DataType
    data_uri: str
    archived: bool
    spec: dict[str, Any]
    created_time: str


@dataclass(frozen=True)
class DataContainer:
    """A data name: its type, latest and next versions, creation time of its first version."""

    name: str
    data_type: DataType
    latest_version: str
    next_version: str
    archived: bool
    created_time: str


class DataAssets:
    """The data assets of the workspace ``workspace_id``."""

    def __init__(self, root: EmulatorRoot, workspace_id: int) -> None:
        self._versions = AssetVersions(root, workspace_id, "data")

    def put(self, name: str, version: str, spec: dict[str, Any]) -> DataVersion:
        """Create ``version`` of ``name`` from the client's ``properties`` (or update what may
        change of an existing one)."""
        data_type = spec.get("dataType")
        if data_type not in DATA_TYPES:
            raise BadArgument(
                f"The data type {data_type!r} of {name}:{version} is not supported: use one of "
                f"{', '.join(DATA_TYPES)} (AssetTypes.URI_FILE, URI_FOLDER or MLTABLE).",
                code="UserError",
            )
        if not isinstance(spec.get("dataUri"), str) or not spec["dataUri"]:
            raise BadArgument(
                f"The data version {name}:{version} has no dataUri: give Data(path=...) a local "
                "path, an azureml://datastores/<datastore>/paths/<path> URI or an https:// URL.",
                code="UserError",
            )
        existing = self._versions.get(name, version)
        if existing is not None and any(
            existing.spec.get(k) != spec.get(k) for k in ("dataType", "dataUri")
        ):
            raise Conflict(_CHANGED, code="UserError")
        return _data(self._versions.put(name, version, spec, mutable=MUTABLE))

    def get(self, name: str, version: str) -> DataVersion | None:
        """The version, or None."""
        found = self._versions.get(name, version)
        return _data(found) if found else None

    def latest(self, name: str) -> DataVersion | None:
        """The most recently created version of ``name`` (Azure's ``@latest``), or None."""
        versions = self._versions.versions(name)
        return _data(versions[0]) if versions else None

    def versions(self, name: str) -> list[DataVersion]:
        """Every version of ``name``, newest first."""
        return [_data(v) for v in self._versions.versions(name)]

    def container(self, name: str) -> DataContainer | None:
        """The name's container, or None before its first version."""
        versions = self._versions.versions(name)
        if not versions:
            return None
        latest = _data(versions[0])
        return DataContainer(
            name=name,
            data_type=latest.data_type,
            latest_version=latest.version,
            next_version=self._versions.next_version(name),
            archived=all(_data(v).archived for v in versions),
            created_time=versions[-1].created_time,
        )

    def archive_all(self, name: str, archived: bool) -> DataContainer | None:
        """Archive or restore every version of ``name`` (the client's ``data.archive(name)``
        PUTs the container back with ``isArchived``), or None before its first version."""
        for version in self._versions.versions(name):
            self._versions.put(
                name, version.version, {**version.spec, "isArchived": archived}, mutable=MUTABLE
            )
        return self.container(name)

    def containers(self) -> list[DataContainer]:
        """Every data name's container, the most recently created version's name first."""
        names = dict.fromkeys(v.name for v in self._versions.versions())
        found = (self.container(name) for name in names)
        return [c for c in found if c is not None]


def _data(asset: AssetVersion) -> DataVersion:
    spec = asset.spec
    return DataVersion(
        name=asset.name,
        version=asset.version,
        data_type=spec["dataType"],
        data_uri=spec["dataUri"],
        archived=bool(spec.get("isArchived")),
        spec=spec,
        created_time=asset.created_time,
    )
