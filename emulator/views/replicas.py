"""A service's replicas as another process sees them: their log files, pids and containers.

Replicas live in the process that deployed the service (``owner_pid`` of its record). They
leave two traces under the emulator root that any process can read:

- ``runtime/logs/<session>/<service>-<6 hex>-<n>-<8 hex>.log``: each replica's log (kept after
  it stopped), where ``<session>`` ends in the owner's pid and ``<n>`` is the replica number;
- ``runtime/sessions/<session>/<backend>-<id>.json``: one record per *running* replica, labelled
  with the service and replica (:mod:`emulator.runtime.labels`), holding its pid or container id.

The current replicas are those of the deployments (the ``<6 hex>`` part) that have a running
replica, else of the newest deployment (a failed service's last attempt).
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass, replace
from pathlib import Path

from emulator.errors import WebserviceException
from emulator.runtime import reaper
from emulator.runtime.labels import CONTAINER, OWNER_PID, REPLICA, SERVICE
from emulator.services.records import ServiceRecord


@dataclass(frozen=True)
class ReplicaView:
    """One replica: its number, container name and log; if running, the run's backend, id and
    which mechanism enforces its limits (``cgroup2``/``cgroup1``/``rlimit``/``docker``)."""

    number: int
    container: str
    log_path: Path | None
    backend: str | None = None
    ident: str | None = None
    pid: int | None = None
    limits: str | None = None

    @property
    def running(self) -> bool:
        return self.backend is not None


def service_replicas(root: Path, record: ServiceRecord) -> list[ReplicaView]:
    """The current replicas of ``record``, by number (empty when it never started one)."""
    if record.owner_pid is None:
        return []
    return _replicas(root, record.name, record.owner_pid)


def hosted_replicas(root: Path, name: str) -> list[ReplicaView]:
    """The current replicas hosted as ``name`` by whichever process started them: an SDK v2
    deployment (``services.online.host_key``) has no service record naming its host, which is
    the daemon or a script's own server."""
    return _replicas(root, name, None)


def _replicas(root: Path, service: str, owner: int | None) -> list[ReplicaView]:
    runs = _running(root, service, owner)
    logs = _log_files(root, service, owner)
    deployments = {_deployment(name, service) for name in runs}
    if not deployments and logs:
        newest = max(logs, key=lambda name: logs[name].stat().st_mtime)
        deployments = {_deployment(newest, service)}
    names = {n for n in (*runs, *logs) if _deployment(n, service) in deployments}
    replicas = [
        replace(runs[name], log_path=logs.get(name))
        if name in runs
        else ReplicaView(_number(name), name, logs.get(name))
        for name in names
    ]
    return sorted(replicas, key=lambda replica: (replica.number, replica.container))


def pick(replicas: list[ReplicaView], number: int | None, service: str) -> ReplicaView:
    """Replica ``number``, or by default the first running one (else the first)."""
    if number is not None:
        for replica in replicas:
            if replica.number == number:
                return replica
        known = ", ".join(str(r.number) for r in replicas) or "none"
        raise WebserviceException(
            f"Service {service} has no replica {number}. Replicas: {known} "
            f"(see `amlemu describe service {service}`)."
        )
    if not replicas:
        raise WebserviceException(
            f"Service {service} has no replica yet: its deployment has not started one (see "
            f"`amlemu describe service {service}` for its state and error)."
        )
    return next((r for r in replicas if r.running), replicas[0])


def _running(root: Path, service: str, owner: int | None) -> dict[str, ReplicaView]:
    """Container name → the running replica, from the runtime's session records (of the
    ``owner`` process's session, or of any session)."""
    found: dict[str, ReplicaView] = {}
    base = reaper.sessions_dir(root)
    for path in base.glob(f"*-{owner}/*.json" if owner is not None else "*/*.json"):
        if path.name == reaper.SESSION_FILE:
            continue
        try:
            run = reaper.Record.load(path)
        except (OSError, ValueError, KeyError):
            continue  # written or removed just now
        labels = run.labels
        if labels.get(SERVICE) != service:
            continue
        if owner is not None and labels.get(OWNER_PID) != str(owner):
            continue
        name = labels.get(CONTAINER, "")
        pid = run.data.get("pid")
        found[name] = ReplicaView(
            number=int(labels.get(REPLICA, 0)),
            container=name,
            log_path=None,
            backend=run.backend,
            ident=run.ident,
            pid=int(pid) if pid is not None and _same_process(run) else None,
            limits=_limits(run),
        )
    return found


def _log_files(root: Path, service: str, owner: int | None) -> dict[str, Path]:
    """Container name → its log file, for every replica the owner process (or any process)
    ever started."""
    pattern = re.compile(rf"^({re.escape(service)}-[0-9a-f]{{6}}-\d+)-[0-9a-f]{{8}}\.log$")
    session = f"*-{owner}" if owner is not None else "*"
    found: dict[str, Path] = {}
    for path in (root / "runtime" / "logs").glob(f"{session}/{glob.escape(service)}-*.log"):
        match = pattern.match(path.name)
        if match:
            found[match.group(1)] = path
    return found


def _limits(run: reaper.Record) -> str | None:
    """The run's limit mechanism: Docker's engine, or what the process backend allocated."""
    if run.backend == "docker":
        return "docker"
    allocation = run.data.get("allocation")
    return str(allocation["mechanism"]) if isinstance(allocation, dict) else None


def _same_process(run: reaper.Record) -> bool:
    """Whether the recorded pid still is the replica's process (pids are reused)."""
    pid = run.data.get("pid")
    return pid is not None and reaper.process_start(int(pid)) == run.data.get("start")


def _deployment(container: str, service: str) -> str:
    """The ``<6 hex>`` part: which deployment (deploy, update) started the replica."""
    return container[len(service) + 1 :].split("-", 1)[0]


def _number(container: str) -> int:
    return int(container.rsplit("-", 1)[1])
