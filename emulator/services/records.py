"""What the emulator remembers about a web service (one SQLite row), independent of processes.

The live side of a service (replicas, gateway route) exists only in the process that deployed
it; this record is what every process can read: state, settings, keys, scoring URI, error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from sqlite3 import Row
from typing import Any


class ServiceState(str, Enum):
    """Azure's web-service states (``LocalWebservice`` shows them in lower case)."""

    TRANSITIONING = "Transitioning"
    HEALTHY = "Healthy"
    UNHEALTHY = "Unhealthy"
    FAILED = "Failed"
    UNSCHEDULABLE = "Unschedulable"
    DELETING = "Deleting"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ServiceRecord:
    """One deployed service (``compute_type``: ``ACI``, ``AKS`` or ``Local``)."""

    id: int
    workspace_id: int
    name: str
    compute_type: str
    state: ServiceState
    image_id: str | None
    model_ids: tuple[str, ...]
    compute_name: str | None
    settings: dict[str, Any]
    description: str | None
    tags: dict[str, str]
    properties: dict[str, str]
    primary_key: str | None
    secondary_key: str | None
    token_secret: str | None
    scoring_uri: str | None
    port: int | None
    error: dict[str, Any] | None
    owner_pid: int | None
    created_time: str
    updated_time: str

    @classmethod
    def from_row(cls, row: Row) -> ServiceRecord:
        return cls(
            id=row["id"],
            workspace_id=row["workspace_id"],
            name=row["name"],
            compute_type=row["compute_type"],
            state=ServiceState(row["state"]),
            image_id=row["image_id"],
            model_ids=tuple(json.loads(row["model_ids"])),
            compute_name=row["compute_name"],
            settings=json.loads(row["settings"]),
            description=row["description"],
            tags=json.loads(row["tags"]),
            properties=json.loads(row["properties"]),
            primary_key=row["primary_key"],
            secondary_key=row["secondary_key"],
            token_secret=row["token_secret"],
            scoring_uri=row["scoring_uri"],
            port=row["port"],
            error=json.loads(row["error"]) if row["error"] else None,
            owner_pid=row["owner_pid"],
            created_time=row["created_time"],
            updated_time=row["updated_time"],
        )
