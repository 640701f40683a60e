"""Service records of one workspace: create, update, look up, delete.

A service is served by the process that deployed it (``owner_pid``). A host that ends
cleanly (exit, or SIGTERM/SIGHUP handled like Ctrl-C) marks its services ``Failed`` with why
(:func:`mark_host_stopped`); one that died without a word (SIGKILL, a crash) is noticed on the
next read, which reports its services ``Failed`` with "the host died", so a service never looks
alive after its host is gone.
"""

from __future__ import annotations

import json
import os
from typing import Any

from emulator.services.records import ServiceRecord, ServiceState
from emulator.store.blobs import pid_alive
from emulator.store.database import timestamp
from emulator.store.root import EmulatorRoot

_JSON_FIELDS = ("model_ids", "settings", "tags", "properties", "error")
_LIVE = (ServiceState.TRANSITIONING, ServiceState.HEALTHY, ServiceState.UNHEALTHY)


_REDEPLOY_HINT = (
    "[emulator] Services run inside the process that deployed them; deploy the service again "
    "(overwrite=True)."
)


def host_exited_error(pid: int) -> dict[str, Any]:
    """The host vanished without stopping its services (its watchdog stopped the replicas)."""
    return {
        "code": "ServiceHostExited",
        "message": f"stopped: the host process (pid {pid}) died without stopping its services "
        "(killed, e.g. by SIGKILL, or crashed), so its endpoint no longer answers. "
        + _REDEPLOY_HINT,
    }


def host_stopped_error(
    pid: int, reason: str, host: str = "the host process", hint: str = _REDEPLOY_HINT
) -> dict[str, Any]:
    """The host stopped its services itself; ``reason``: ``exited``, ``received SIGTERM``...;
    ``host`` and ``hint`` name the host and what brings the service back (the daemon brings
    its services back at its next start; other hosts' must be deployed again)."""
    return {
        "code": "ServiceHostStopped",
        "message": f"stopped: {host} (pid {pid}) {reason}, so it stopped the "
        "service's replicas and endpoint. " + hint,
    }


def mark_host_stopped(root: EmulatorRoot, pid: int, reason: str) -> int:
    """Every live service ``pid`` hosts in ``root`` (all workspaces) becomes ``Failed`` with
    :func:`host_stopped_error`; returns how many."""
    live = tuple(state.value for state in _LIVE)
    with root.db.transaction() as conn:
        cursor = conn.execute(
            "UPDATE services SET state=?, error=?, port=NULL, updated_time=? WHERE owner_pid=?"
            f" AND state IN ({', '.join('?' for _ in live)})",
            (
                ServiceState.FAILED.value,
                json.dumps(host_stopped_error(pid, reason)),
                timestamp(),
                pid,
                *live,
            ),
        )
        return cursor.rowcount


class ServiceRegistry:
    """Services of the workspace ``workspace_id``."""

    def __init__(self, root: EmulatorRoot, workspace_id: int) -> None:
        self.root = root
        self.workspace_id = workspace_id

    def create(
        self,
        name: str,
        compute_type: str,
        *,
        image_id: str | None,
        model_ids: tuple[str, ...] | list[str],
        settings: dict[str, Any],
        compute_name: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        primary_key: str | None = None,
        secondary_key: str | None = None,
        token_secret: str | None = None,
    ) -> ServiceRecord:
        """A new ``Transitioning`` service owned by this process; ``name`` must be free."""
        now = timestamp()
        with self.root.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO services (workspace_id, name, compute_type, state, image_id,"
                " model_ids, compute_name, settings, description, tags, properties,"
                " primary_key, secondary_key, token_secret, owner_pid, created_time,"
                " updated_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.workspace_id,
                    name,
                    compute_type,
                    ServiceState.TRANSITIONING.value,
                    image_id,
                    json.dumps(list(model_ids)),
                    compute_name,
                    json.dumps(settings),
                    description,
                    json.dumps(tags or {}),
                    json.dumps(properties or {}),
                    primary_key,
                    secondary_key,
                    token_secret,
                    os.getpid(),
                    now,
                    now,
                ),
            )
            row = conn.execute("SELECT * FROM services WHERE id=?", (cursor.lastrowid,)).fetchone()
        return ServiceRecord.from_row(row)

    def update(self, record: ServiceRecord, **fields: Any) -> ServiceRecord:
        """Change columns of ``record`` (JSON columns take Python values)."""
        values: dict[str, Any] = {}
        for key, value in fields.items():
            if isinstance(value, ServiceState):
                value = value.value
            elif key in _JSON_FIELDS and value is not None:
                value = json.dumps(list(value) if key == "model_ids" else value)
            values[key] = value
        values["updated_time"] = timestamp()
        assignments = ", ".join(f"{key}=?" for key in values)
        with self.root.db.transaction() as conn:
            conn.execute(
                f"UPDATE services SET {assignments} WHERE id=?", (*values.values(), record.id)
            )
            row = conn.execute("SELECT * FROM services WHERE id=?", (record.id,)).fetchone()
        if row is None:
            raise LookupError(f"service {record.name} was deleted")
        return ServiceRecord.from_row(row)

    def delete(self, record: ServiceRecord) -> None:
        with self.root.db.transaction() as conn:
            conn.execute("DELETE FROM services WHERE id=?", (record.id,))

    def get(self, name: str) -> ServiceRecord | None:
        with self.root.db.read() as conn:
            row = conn.execute(
                "SELECT * FROM services WHERE workspace_id=? AND name=?", (self.workspace_id, name)
            ).fetchone()
        return self._reconciled(ServiceRecord.from_row(row)) if row else None

    def records(self) -> list[ServiceRecord]:
        with self.root.db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM services WHERE workspace_id=? ORDER BY created_time DESC",
                (self.workspace_id,),
            ).fetchall()
        return [self._reconciled(ServiceRecord.from_row(row)) for row in rows]

    def _reconciled(self, record: ServiceRecord) -> ServiceRecord:
        pid = record.owner_pid
        if record.state in _LIVE and pid is not None and pid != os.getpid() and not pid_alive(pid):
            try:
                return self.update(
                    record, state=ServiceState.FAILED, error=host_exited_error(pid), port=None
                )
            except LookupError:
                return record
        return record
