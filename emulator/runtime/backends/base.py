"""What every runtime backend offers: launch one container run, watch it, stop it, read it.

A backend knows nothing about restarts, probes or services: :mod:`emulator.runtime.container`
supervises launches (crash loop, back-off, probing) and treats every backend alike. One
:class:`Launch` is one run of the container; a restart is a new launch of the same spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class LaunchSpec:
    """Everything a backend needs to start one run of an image.

    ``image_location`` is what the image's builder returned (a local image directory for the
    ``local``/``host`` builders, a ``name:version`` tag for ``docker``). The scoring server
    listens on ``127.0.0.1:port`` (backends pass it as ``SERVER_PORT``; Docker runs with host
    networking). ``environment`` holds the variables set on top of the image's own (Azure's
    ``SCORING_TIMEOUT_MS``, ``WORKER_COUNT``, user variables, ...). ``log_path`` is the file the
    backend appends the run's stdout and stderr to (interleaved, as ``docker logs`` shows them).
    ``labels`` carry the session id and the owning service (see :mod:`emulator.runtime.labels`).
    """

    name: str
    image_location: str
    port: int
    log_path: Path
    environment: Mapping[str, str] = field(default_factory=dict)
    cpu_cores: float | None = None
    memory_gb: float | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    #: Host folders mounted read-only (host path -> container path); the docker backend's.
    mounts: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExitStatus:
    """How a run ended: its exit code, and whether the memory limit killed it.

    ``oom_inferred``: no kernel counter said so; a ``MemoryError`` in the run's log did (the
    rlimit fallback, where an allocation over the limit fails instead of being OOM-killed).
    """

    code: int
    oom_killed: bool = False
    oom_inferred: bool = False


class Launch(Protocol):
    """One running (or finished) run of a container."""

    @property
    def ident(self) -> str:
        """The pid (process backend) or container id (docker backend)."""
        ...

    @property
    def limits(self) -> str:
        """Which mechanism enforces the run's ``memory_gb`` and ``cpu_cores``: ``cgroup2``,
        ``cgroup1`` or ``rlimit`` (process backend), ``docker`` (see ``limits.MECHANISMS``)."""
        ...

    def exit_status(self) -> ExitStatus | None:
        """``None`` while the run is alive; afterwards how it ended (never blocks)."""
        ...

    def stop(self, grace_seconds: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace_seconds``; removes what the run left. Idempotent."""
        ...


class Backend(Protocol):
    """Starts runs of images built by the builders this backend accepts."""

    name: str

    def launch(self, spec: LaunchSpec) -> Launch:
        """Start one run; raises :class:`~emulator.exceptions.OperationFailed` naming the
        problem and the fix when the image cannot be started at all (missing image, no engine)."""
        ...
