"""Where faults live: one JSON file per target under the emulator root, shared by processes.

Services run in the process that deployed them, but ``amlemu faults inject`` runs in another:
so faults are files, ``<root>/faults/<workspace id>/<service>.json`` for a service and
``<root>/faults/<workspace id>/_workspace.json`` for image builds and provisioning (no service
name starts with ``_``), and ``<root>/faults/<workspace id>/online/<endpoint>/<deployment>.json``
for an SDK v2 online deployment (apart from the services: an endpoint and a deployment may
share a v1 service's name). Changes take an exclusive ``flock`` on a sibling ``.lock`` file and
replace the JSON atomically (temporary file + rename), so readers never see half a file and
concurrent writers never lose each other's faults. Reads are cached on the file's identity
(inode, mtime, size): the gateway checks for faults on every request at the cost of one
``stat``. The file also keeps the last events (a fault injected or removed, numbered), so the
hosting process logs even a fault that came and went between two of its checks.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from emulator.faults.model import Fault, FaultError, FaultKind, FaultState

WORKSPACE_TARGET = "_workspace"
#: A target name is one plain path component: nothing a path could climb out of the root with.
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,254}")

Stamp = tuple[int, int, int]
#: Events kept in the file (the watcher reads them every 50 ms, so few are ever needed).
MAX_EVENTS = 256


def faults_dir(root: Path, workspace_id: int) -> Path:
    return Path(root) / "faults" / str(int(workspace_id))


def online_faults_dir(root: Path, workspace_id: int) -> Path:
    """Where the online deployments' fault files are: one folder per endpoint."""
    return faults_dir(root, workspace_id) / "online"


class FaultStore:
    """The faults of one target (a service, or the workspace's builds and provisioning)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_path = path.with_suffix(".lock")
        self._cache: tuple[Stamp | None, tuple[Fault, ...], tuple[dict[str, Any], ...]] = (
            None,
            (),
            (),
        )
        self._thread_lock = threading.Lock()

    @classmethod
    def for_service(cls, root: Path, workspace_id: int, service: str) -> FaultStore:
        if not isinstance(service, str) or not _SAFE_NAME.fullmatch(service) or service[0] == "_":
            raise FaultError(
                f"{service!r} is not a service name: service names are lowercase letters, "
                "digits and dashes (no path separators)."
            )
        return cls(faults_dir(root, workspace_id) / f"{service}.json")

    @classmethod
    def for_online_deployment(
        cls, root: Path, workspace_id: int, endpoint: str, deployment: str
    ) -> FaultStore:
        """The faults of deployment ``deployment`` of online endpoint ``endpoint`` (names are
        case-insensitive, as Azure's are)."""
        for what, name in (("endpoint", endpoint), ("deployment", deployment)):
            if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name):
                raise FaultError(
                    f"{name!r} is not an online {what} name: names are letters, digits and "
                    "dashes (no path separators)."
                )
        directory = online_faults_dir(root, workspace_id) / endpoint.lower()
        return cls(directory / f"{deployment.lower()}.json")

    @classmethod
    def for_workspace(cls, root: Path, workspace_id: int) -> FaultStore:
        return cls(faults_dir(root, workspace_id) / f"{WORKSPACE_TARGET}.json")

    @property
    def target(self) -> str:
        return self.path.stem

    # reading

    def faults(self) -> tuple[Fault, ...]:
        """Every fault of the target, oldest first (cached until the file changes)."""
        return self._load()[1]

    def events(self) -> tuple[dict[str, Any], ...]:
        """The last events, oldest first: ``{"seq", "fault", "event", "text"}``."""
        return self._load()[2]

    def _load(self) -> tuple[Stamp | None, tuple[Fault, ...], tuple[dict[str, Any], ...]]:
        stamp = self._stamp()
        if stamp == self._cache[0]:
            return self._cache
        data = self._read()
        faults = tuple(Fault.from_json(item) for item in data.get("faults", []))
        self._cache = (stamp, faults, tuple(data.get("events", [])))
        return self._cache

    def get(self, fault_id: str) -> Fault | None:
        return next((fault for fault in self.faults() if fault.id == fault_id), None)

    # changing

    def add(self, fault: Fault) -> Fault:
        """Store ``fault`` under the target's next id; returns it with its id."""
        with self._change() as data:
            number = int(data.get("next", 1))
            data["next"] = number + 1
            fault = replace(fault, id=f"f{number}")
            data.setdefault("faults", []).append(fault.to_json())
            _event(data, fault, "injected")
        return fault

    def remove(self, fault_id: str) -> Fault | None:
        """Remove one fault; returns it, or ``None`` if it was not there."""
        with self._change() as data:
            faults = [Fault.from_json(item) for item in data.get("faults", [])]
            gone = next((fault for fault in faults if fault.id == fault_id), None)
            data["faults"] = [fault.to_json() for fault in faults if fault.id != fault_id]
            if gone is not None:
                _event(data, gone, "removed")
        return gone

    def clear(self) -> list[Fault]:
        """Remove every fault; returns them."""
        with self._change() as data:
            faults = [Fault.from_json(item) for item in data.get("faults", [])]
            data["faults"] = []
            for fault in faults:
                _event(data, fault, "removed")
        return faults

    def update(self, fault_id: str, change: Callable[[Fault], Fault]) -> Fault | None:
        """Replace one fault by ``change(fault)`` (``None`` if it was removed meanwhile)."""
        with self._change() as data:
            faults = [Fault.from_json(item) for item in data.get("faults", [])]
            found = None
            for index, fault in enumerate(faults):
                if fault.id == fault_id:
                    found = faults[index] = change(fault)
            data["faults"] = [fault.to_json() for fault in faults]
        return found

    def take(self, kind: FaultKind) -> Fault | None:
        """Use one attempt of the oldest pending counted fault of ``kind`` (the moment a start,
        build or provisioning consults it); ``None`` when there is none. A fault whose last
        attempt is used becomes ``done``."""
        if not any(f.kind is kind and f.state is FaultState.PENDING for f in self.faults()):
            return None  # the common case, without taking the lock
        with self._change() as data:
            faults = [Fault.from_json(item) for item in data.get("faults", [])]
            taken = None
            for index, fault in enumerate(faults):
                if fault.kind is kind and fault.state is FaultState.PENDING:
                    used = fault.used + 1
                    state = FaultState.DONE if used >= (fault.times or 1) else FaultState.PENDING
                    taken = faults[index] = replace(fault, used=used, state=state)
                    break
            data["faults"] = [fault.to_json() for fault in faults]
        return taken

    # plumbing

    def _stamp(self) -> Stamp | None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise FaultError(
                f"The fault file {self.path} is not valid JSON ({exc}). [emulator] Delete it "
                "to clear the faults, or fix it by hand."
            ) from None
        return data if isinstance(data, dict) else {}

    @contextlib.contextmanager
    def _change(self) -> Iterator[dict[str, Any]]:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._thread_lock, open(self._lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._read()
            yield data
            data["updated"] = time.time()
            temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            temp.write_text(json.dumps(data, indent=1), encoding="utf-8")
            os.replace(temp, self.path)


def _event(data: dict[str, Any], fault: Fault, event: str) -> None:
    events = data.setdefault("events", [])
    number = int(data.get("next_event", 1))
    data["next_event"] = number + 1
    events.append({"seq": number, "fault": fault.id, "event": event, "text": fault.describe()})
    del events[:-MAX_EVENTS]
