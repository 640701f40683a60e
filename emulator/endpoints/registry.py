"""The online endpoints of a workspace, in ``<root>/endpoints/endpoints.sqlite3``.

An endpoint is what Azure's managed online endpoint is before any deployment: a name (unique in
the workspace), an auth mode (``key``, ``aml_token`` or ``aad_token``), two keys generated at
creation (kept across updates, as Azure keeps them), a description, tags, a traffic table
(deployment → percent) and a mirror table (the one deployment that gets a copy of a share of
the traffic, at most 50 %). A Kubernetes online endpoint also names its compute (checked by
:mod:`emulator.endpoints.kubernetes`), which never changes. Updates replace the mutable fields;
the auth mode may change, the keys do not. SQLite (not memory) so that the daemon, ``amlemu``
and tests in other processes agree.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from emulator.endpoints.deployments import FORMAT, OnlineDeployments
from emulator.exceptions import BadArgument, NotFound
from emulator.services.auth import AuthMode, ServiceAuth
from emulator.settings import token_lifetime_seconds
from emulator.store.database import Database, timestamp
from emulator.store.root import EmulatorRoot

#: ``azure-ai-ml``'s own rule (entities/_endpoint/_endpoint_helpers.py), enforced here too for
#: clients that send REST directly: 3-32 characters, a letter first, alphanumerics or '-',
#: an alphanumeric last.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]")
AUTH_MODES = ("key", "aml_token", "aad_token")
#: endpoints.sqlite3 files this process found with the ``mirror_traffic`` column.
_MIGRATED: set[Path] = set()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS online_endpoints (
    workspace_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    auth_mode TEXT NOT NULL,
    description TEXT,
    tags TEXT NOT NULL,
    traffic TEXT NOT NULL,
    primary_key TEXT NOT NULL,
    secondary_key TEXT NOT NULL,
    token_secret TEXT NOT NULL,
    created_time TEXT NOT NULL,
    modified_time TEXT NOT NULL,
    mirror_traffic TEXT NOT NULL DEFAULT '{}',
    compute TEXT,
    PRIMARY KEY (workspace_id, name)
);
"""
#: Azure's limit on the share of traffic mirrored (REST ``mirrorTraffic``: "Traffic values need
#: to sum to utmost 50").
MAX_MIRROR_PERCENT = 50


@dataclass(frozen=True)
class EndpointRecord:
    """One stored online endpoint."""

    name: str
    auth_mode: str
    description: str | None
    tags: dict[str, str]
    traffic: dict[str, int]
    primary_key: str
    secondary_key: str
    token_secret: str
    created_time: str
    modified_time: str
    mirror_traffic: dict[str, int] = field(default_factory=dict)
    #: The Kubernetes compute of a Kubernetes online endpoint; None for a managed endpoint.
    compute: str | None = None

    def auth(self) -> ServiceAuth:
        """The checks of the endpoint's scoring URI: its keys (``key``), or tokens signed with
        its secret (``aml_token``, valid for AZUREML_EMULATOR_TOKEN_LIFETIME seconds, an hour
        by default) — the same rules as SDK v1's web services."""
        mode = {"key": AuthMode.KEY, "aml_token": AuthMode.TOKEN}.get(self.auth_mode)
        if mode is None:
            raise BadArgument(
                f"Endpoint '{self.name}' uses auth mode '{self.auth_mode}': it has no keys or "
                "endpoint tokens. [emulator] Its callers present Microsoft Entra tokens "
                "(aad_token), which the ARM face checks against its identity endpoint.",
                code="UserError",
            )
        return ServiceAuth(
            mode,
            self.primary_key,
            self.secondary_key,
            token_lifetime_seconds(),
            token_secret=self.token_secret,
        )


@dataclass(frozen=True)
class EndpointSpec:
    """What a client may set on an endpoint (the create-or-update request)."""

    auth_mode: str = "key"
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    traffic: Mapping[str, int] = field(default_factory=dict)
    mirror_traffic: Mapping[str, int] = field(default_factory=dict)
    #: The Kubernetes compute's name (resolved by :mod:`emulator.endpoints.kubernetes`).
    compute: str | None = None


class OnlineEndpoints:
    """The online endpoints of the workspace ``workspace_id`` of ``root``."""

    def __init__(self, root: EmulatorRoot, workspace_id: int) -> None:
        self.workspace_id = workspace_id
        self._root = root
        self._db = Database(
            root.path / "endpoints" / "endpoints.sqlite3", schema=_SCHEMA, version=FORMAT
        )
        _migrate(self._db)

    def create_or_update(self, name: str, spec: EndpointSpec) -> tuple[EndpointRecord, bool]:
        """Store ``spec`` under ``name``; returns the endpoint and whether it was created."""
        _check_name(name)
        deployed = {
            d.name.casefold() for d in OnlineDeployments(self._root, self.workspace_id).list(name)
        }
        _check_spec(name, spec, deployed)
        now = timestamp()
        with self._db.read() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                existing = self._row(conn, name)
                if existing is not None:
                    _check_same_compute(existing, spec)
                values = (
                    spec.auth_mode,
                    spec.description,
                    json.dumps(dict(spec.tags)),
                    json.dumps(dict(spec.traffic)),
                    json.dumps(dict(spec.mirror_traffic)),
                )
                if existing is None:
                    conn.execute(
                        "INSERT INTO online_endpoints (workspace_id, name, auth_mode, "
                        "description, tags, traffic, mirror_traffic, primary_key, secondary_key, "
                        "token_secret, created_time, modified_time, compute) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            self.workspace_id,
                            name,
                            *values,
                            _key(),
                            _key(),
                            _key(),
                            now,
                            now,
                            spec.compute,
                        ),
                    )
                else:
                    conn.execute(
                        "UPDATE online_endpoints SET auth_mode = ?, description = ?, tags = ?, "
                        "traffic = ?, mirror_traffic = ?, modified_time = ? "
                        "WHERE workspace_id = ? AND name = ?",
                        (*values, now, self.workspace_id, existing["name"]),
                    )
                row = self._row(conn, name)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        assert row is not None  # written in the same transaction
        return _record(row), existing is None

    def get(self, name: str) -> EndpointRecord:
        """The endpoint ``name``; :class:`NotFound` naming the endpoints there are otherwise."""
        with self._db.read() as conn:
            row = self._row(conn, name)
        if row is None:
            raise self._not_found(name)
        return _record(row)

    def list(self) -> list[EndpointRecord]:
        """Every endpoint of the workspace, by name."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM online_endpoints WHERE workspace_id = ? ORDER BY name",
                (self.workspace_id,),
            ).fetchall()
        return [_record(row) for row in rows]

    def delete(self, name: str) -> None:
        """Remove the endpoint ``name`` (:class:`NotFound` when there is none)."""
        with self._db.read() as conn:
            deleted = conn.execute(
                "DELETE FROM online_endpoints WHERE workspace_id = ? AND name = ? COLLATE NOCASE",
                (self.workspace_id, name),
            ).rowcount
        if not deleted:
            raise self._not_found(name)

    def regenerate_key(self, name: str, which: str, value: str | None = None) -> EndpointRecord:
        """Replace the ``which`` ("primary" or "secondary") key of ``name``.

        ``value`` sets the key, as ARM's ``keyValue`` says; azure-ai-ml 1.35 sends the *current*
        key there, and its ``begin_regenerate_keys`` must still change the key, so a value equal
        to the current key (or none) means a fresh one.
        """
        column = {"primary": "primary_key", "secondary": "secondary_key"}.get(which.lower())
        if column is None:
            raise BadArgument(
                f"Invalid key type '{which}'. Use 'Primary' or 'Secondary'.", code="UserError"
            )
        current = self.get(name)  # NotFound naming the endpoints there are
        old = current.primary_key if column == "primary_key" else current.secondary_key
        new = value if value and value != old else _key()
        with self._db.read() as conn:
            conn.execute(
                f"UPDATE online_endpoints SET {column} = ?, modified_time = ? "
                "WHERE workspace_id = ? AND name = ?",
                (new, timestamp(), self.workspace_id, current.name),
            )
        return self.get(name)

    def _row(self, conn: sqlite3.Connection, name: str) -> sqlite3.Row | None:
        # Azure's endpoint names are case-insensitive (they become DNS labels).
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM online_endpoints WHERE workspace_id = ? AND name = ? COLLATE NOCASE",
            (self.workspace_id, name),
        ).fetchone()
        return row

    def _not_found(self, name: str) -> NotFound:
        names = ", ".join(f"'{r.name}'" for r in self.list()) or "none"
        return NotFound(
            f"Online endpoint '{name}' does not exist. [emulator] Endpoints of this workspace: "
            f"{names}; create it with ml_client.online_endpoints.begin_create_or_update.",
            code="ResourceNotFound",
        )


def _migrate(db: Database) -> None:
    """Format 2 added ``mirror_traffic``: a file written before gains the column (checked by
    the column itself, as the deployments' store may have set the shared format first)."""
    if db.path in _MIGRATED:
        return
    with db.read() as conn:
        columns = {row["name"] for row in conn.execute("PRAGMA table_info(online_endpoints)")}
        if "mirror_traffic" not in columns:
            conn.execute(
                "ALTER TABLE online_endpoints ADD COLUMN mirror_traffic TEXT NOT NULL DEFAULT '{}'"
            )
        if "compute" not in columns:  # Kubernetes endpoints (same format: a nullable column)
            conn.execute("ALTER TABLE online_endpoints ADD COLUMN compute TEXT")
    _MIGRATED.add(db.path)


def _check_same_compute(existing: sqlite3.Row, spec: EndpointSpec) -> None:
    """An endpoint keeps its kind and compute: Azure refuses to move it (make a new one)."""
    before, after = existing["compute"], spec.compute
    if (before or "").casefold() == (after or "").casefold():
        return
    was = f"a Kubernetes online endpoint on compute '{before}'" if before else "a managed one"
    raise BadArgument(
        f"Endpoint '{existing['name']}' is {was}: the compute of an endpoint cannot be changed. "
        "[emulator] Create another endpoint for the other compute.",
        code="BadArgument",
    )


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise BadArgument(
            f"Invalid endpoint name '{name}'. The name for an endpoint must be at least 3 and at "
            "most 32 characters long, start with a letter, contain only alphanumeric characters "
            "and '-', and end with an alphanumeric character.",
            code="UserError",
        )


def _check_spec(name: str, spec: EndpointSpec, deployed: set[str]) -> None:
    if spec.auth_mode not in AUTH_MODES:
        raise BadArgument(
            f"Invalid auth mode '{spec.auth_mode}' for endpoint '{name}'. Use one of: "
            + ", ".join(AUTH_MODES)
            + ".",
            code="UserError",
        )
    named = {**spec.traffic, **spec.mirror_traffic}
    missing = ", ".join(f"'{d}'" for d in named if d.casefold() not in deployed)
    if missing:
        raise BadArgument(
            f"Traffic for endpoint '{name}' names deployments that do not exist: {missing}. "
            "[emulator] Create the deployment first (ml_client.online_deployments."
            "begin_create_or_update), then set endpoint.traffic.",
            code="UserError",
        )
    _check_mirror(name, spec)


def _check_mirror(name: str, spec: EndpointSpec) -> None:
    """Azure's rules for ``mirror_traffic``: managed endpoints only, one deployment, at most
    50 %, and never one that also takes live traffic."""
    mirrored = {d: share for d, share in spec.mirror_traffic.items() if share > 0}
    if mirrored and spec.compute:
        raise BadArgument(
            f"Endpoint '{name}' is a Kubernetes online endpoint: mirroring isn't supported for "
            "Kubernetes online endpoints. [emulator] Leave endpoint.mirror_traffic empty, or "
            "mirror on a managed online endpoint.",
            code="UserError",
        )
    if len(mirrored) > 1:
        raise BadArgument(
            f"Mirror traffic of endpoint '{name}' names {len(mirrored)} deployments ("
            + ", ".join(f"'{d}'" for d in mirrored)
            + "). Traffic can be mirrored to only one deployment. [emulator] Keep one entry in "
            "endpoint.mirror_traffic.",
            code="UserError",
        )
    total = sum(mirrored.values())
    if total > MAX_MIRROR_PERCENT:
        raise BadArgument(
            f"Mirror traffic of endpoint '{name}' is {total}%. Mirror traffic values need to "
            f"sum to at most {MAX_MIRROR_PERCENT}. [emulator] Lower endpoint.mirror_traffic.",
            code="UserError",
        )
    live = {d.casefold() for d, share in spec.traffic.items() if share > 0}
    both = [d for d in mirrored if d.casefold() in live]
    if both:
        raise BadArgument(
            f"Deployment '{both[0]}' of endpoint '{name}' cannot receive both live and mirror "
            "traffic. [emulator] Set its share in endpoint.traffic or in "
            "endpoint.mirror_traffic to 0.",
            code="UserError",
        )


def _key() -> str:
    """A fresh endpoint key: 32 URL-safe characters, as long as Azure's."""
    return secrets.token_urlsafe(24)


def _record(row: sqlite3.Row) -> EndpointRecord:
    return EndpointRecord(
        name=row["name"],
        auth_mode=row["auth_mode"],
        description=row["description"],
        tags=json.loads(row["tags"]),
        traffic=json.loads(row["traffic"]),
        primary_key=row["primary_key"],
        secondary_key=row["secondary_key"],
        token_secret=row["token_secret"],
        created_time=row["created_time"],
        modified_time=row["modified_time"],
        mirror_traffic=json.loads(row["mirror_traffic"]),
        compute=row["compute"],
    )
