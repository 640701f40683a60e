"""Immutable records of images, as read from the metadata database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from sqlite3 import Row


class CreationState(str, Enum):
    """``Image.creation_state`` values (the terminal ones end polling)."""

    NOT_STARTED = "NotStarted"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"

    @property
    def terminal(self) -> bool:
        return self in (CreationState.SUCCEEDED, CreationState.FAILED)


@dataclass(frozen=True)
class ImageRecord:
    """One image version: what it was built from, by which builder, and how that went."""

    id: int
    workspace_id: int
    name: str
    version: int
    state: CreationState
    builder: str
    flavor: str
    description: str | None
    tags: dict[str, str]
    properties: dict[str, str]
    model_ids: tuple[str, ...]
    entry_script: str | None
    environment_key: str | None
    location: str | None
    directory: str
    error: dict[str, str] | None
    owner_pid: int | None
    created_time: str
    updated_time: str

    @property
    def image_id(self) -> str:
        return f"{self.name}:{self.version}"

    @classmethod
    def from_row(cls, row: Row) -> ImageRecord:
        return cls(
            id=row["id"],
            workspace_id=row["workspace_id"],
            name=row["name"],
            version=row["version"],
            state=CreationState(row["state"]),
            builder=row["builder"],
            flavor=row["flavor"],
            description=row["description"],
            tags=json.loads(row["tags"]),
            properties=json.loads(row["properties"]),
            model_ids=tuple(json.loads(row["model_ids"])),
            entry_script=row["entry_script"],
            environment_key=row["environment_key"],
            location=row["location"],
            directory=row["directory"],
            error=json.loads(row["error"]) if row["error"] else None,
            owner_pid=row["owner_pid"],
            created_time=row["created_time"],
            updated_time=row["updated_time"],
        )
