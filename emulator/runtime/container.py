"""A container: one replica of a service, started from an image and kept running as Azure does.

:class:`Container` launches its image through a backend and supervises the runs from a daemon
thread, Kubernetes style (the probes of one run are :mod:`emulator.runtime.watch`'s):

- ``Transitioning`` until the scoring server answers ``GET /`` (``success_threshold`` times in
  a row; checked every 50 ms, so ``Healthy`` shows as soon as ``init()`` returns), then
  ``Healthy``.
- Liveness: once ready (or ``initial_delay_seconds`` after the start if it never gets ready —
  Azure's value, unscaled, so a slow ``init()`` gets exactly the time Azure gives it) the
  server is probed every ``period_seconds``; ``failure_threshold`` failures in a row and the run
  is stopped and restarted. A failed probe of a ready replica makes it ``Unhealthy``.
- A run that ends (crash, OOM kill, liveness kill) is restarted after a back-off of
  ``backoff_base_seconds`` doubled per consecutive failure up to ``backoff_cap_seconds``
  (Kubernetes: 10 s … 5 min; the count resets after ``reset_after_seconds`` of good running).
  After ``max_restarts`` restarts (Azure reports ``restartCount: 3``) the next failure makes the
  container ``Failed`` with ``CrashLoopBackOff`` — or ``OOMKilled`` if the memory limit ended
  the last run — and it is not started again.

Every orchestration delay is Azure's multiplied by the time scale
(:mod:`emulator.timing`): by default a crash loop is over in a few seconds instead of
Azure's minutes. That is the one deliberate difference. The replica keeps one loopback port
(:mod:`emulator.runtime.ports`) across restarts; its log file collects every run, with a
``[emulator]`` line between runs saying why the previous one ended.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any
from uuid import uuid4

from emulator.exceptions import EmulatorError
from emulator.runtime import messages, reaper
from emulator.runtime.backends.base import Backend, ExitStatus, Launch, LaunchSpec
from emulator.runtime.backends.select import select_backend
from emulator.runtime.labels import container_labels, session_id
from emulator.runtime.ports import FixedPorts, PortReservation
from emulator.runtime.probes import ImageRoutes, ProbeSettings
from emulator.runtime.watch import RunEnd, RunWatch
from emulator.server.config import TELEMETRY_FILE
from emulator.server.telemetry import telemetry_path
from emulator.settings import emulator_root
from emulator.timing import time_scale

logger = logging.getLogger("azureml.emulator.runtime")

_LOG_TAIL_BYTES = 64 << 10


class ContainerState(str, Enum):
    """Azure's service states, plus ``Stopped`` after :meth:`Container.stop`."""

    TRANSITIONING = "Transitioning"
    HEALTHY = "Healthy"
    UNHEALTHY = "Unhealthy"
    FAILED = "Failed"
    STOPPED = "Stopped"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class RestartPolicy:
    """Kubernetes' restart back-off and Azure's give-up point, in Azure's (unscaled) seconds."""

    max_restarts: int = 3
    backoff_base_seconds: float = 10.0
    backoff_cap_seconds: float = 300.0
    reset_after_seconds: float = 600.0
    termination_grace_seconds: float = 30.0

    def backoff(self, failures: int) -> float:
        """The wait before the restart that follows ``failures`` consecutive failed runs."""
        return min(self.backoff_cap_seconds, self.backoff_base_seconds * 2 ** (failures - 1))


@dataclass(frozen=True)
class ContainerConfig:
    """One replica: which image, its deployment settings, and how it is supervised.

    ``name`` appears in errors as the container instance; ``image_name`` as the image to try
    locally (default: the location). ``time_scale`` defaults to ``$AZUREML_EMULATOR_TIME_SCALE``;
    ``log_path`` to ``<root>/runtime/logs/<session>/<name>-<8 hex>.log`` (kept after the
    session ends, for post-mortems).
    """

    name: str
    image_location: str
    image_name: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    cpu_cores: float | None = None
    memory_gb: float | None = None
    service: str | None = None
    replica: int = 0
    liveness: ProbeSettings = field(default_factory=ProbeSettings)
    #: A readiness probe of its own (SDK v2 deployments): ``None`` = liveness failures take the
    #: replica out of traffic at once (v1 AKS). See :mod:`emulator.runtime.watch`.
    readiness: ProbeSettings | None = None
    #: A custom container's own port and routes (SDK v2 ``inference_config``): the replica's
    #: port is its scoring port and the probes ask its routes; ``None``: the scoring server on
    #: a reserved port, probed at ``GET /``.
    routes: ImageRoutes | None = None
    #: Without ``routes``: the paths the liveness and readiness probes ask on the replica's
    #: port (the scoring server's ``GET /``; a Triton server's ``/v2/health/live`` and ``/ready``).
    probe_paths: tuple[str, str] = ("/", "/")
    #: Host folders mounted read-only in the container (host path -> container path; the
    #: docker backend only: a process shares the host's files anyway).
    mounts: Mapping[str, str] = field(default_factory=dict)
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    time_scale: float | None = None
    log_path: Path | None = None


@dataclass(frozen=True)
class ContainerStatus:
    """A snapshot of a container: cheap to take, safe to read from any thread."""

    state: ContainerState
    restart_count: int
    port: int
    error: dict[str, Any] | None = None
    last_exit: ExitStatus | None = None
    reason: str | None = None
    #: Which mechanism enforces the replica's memory and CPU limits (the current run's):
    #: ``cgroup2``, ``cgroup1``, ``rlimit`` or ``docker`` (``limits.describe_mechanism``).
    limits: str | None = None

    @property
    def ready(self) -> bool:
        return self.state is ContainerState.HEALTHY


class Container:
    """One supervised replica (see the module docstring). ``start()`` it, then read ``status``."""

    def __init__(self, config: ContainerConfig, backend: Backend | str | None = None) -> None:
        self.config = config
        if backend is None or isinstance(backend, str):
            backend = select_backend(backend)
        self.backend: Backend = backend
        self.scale = config.time_scale if config.time_scale is not None else time_scale()
        self.log_path = config.log_path or (
            emulator_root()
            / "runtime"
            / "logs"
            / session_id()
            / f"{config.name}-{uuid4().hex[:8]}.log"
        )
        self._reservation: PortReservation | FixedPorts | None = None
        self._port = 0
        self._state_lock = threading.Condition()
        self._status = ContainerStatus(ContainerState.TRANSITIONING, 0, 0)
        self._launch_lock = threading.Lock()
        self._launch: Launch | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the public face -------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def port(self) -> int:
        """The loopback port the replica's server listens on (the same across restarts)."""
        return self._port

    @property
    def status(self) -> ContainerStatus:
        with self._state_lock:
            return self._status

    @property
    def ready(self) -> bool:
        return self.status.ready

    def start(self) -> Container:
        """Launch the first run and supervise it; raises ``OperationFailed`` (from the
        backend) when the image cannot be started at all."""
        if self._thread is not None:
            raise RuntimeError(f"container {self.name} was already started")
        routes = self.config.routes
        self._reservation = (
            PortReservation() if routes is None else FixedPorts(routes.ports, self.name)
        )
        self._port = self._reservation.port if routes is None else routes.scoring.port
        self._update(port=self._port, reason="Starting")
        try:
            launch = self.backend.launch(self._spec())
        except Exception as exc:
            self._reservation.release()
            message = exc.message if isinstance(exc, EmulatorError) else str(exc)
            self._update(
                state=ContainerState.FAILED,
                error=messages.start_error(self.name, message),
                reason="could not be started",
            )
            raise
        self._launch = launch
        self._update(limits=launch.limits)
        self._thread = threading.Thread(
            target=self._supervise_safely, args=(launch,), name=f"amlemu-{self.name}", daemon=True
        )
        self._thread.start()
        return self

    def wait_until_ready(self, timeout: float | None = None) -> ContainerStatus:
        """Block until ``Healthy``, ``Failed`` or ``Stopped``, or ``timeout`` seconds passed."""
        settled = (ContainerState.HEALTHY, ContainerState.FAILED, ContainerState.STOPPED)
        with self._state_lock:
            self._state_lock.wait_for(lambda: self._status.state in settled, timeout)
            return self._status

    def logs(self, num_lines: int | None = 5000) -> str:
        """The last ``num_lines`` lines of every run's stdout and stderr (all with ``None``)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        if num_lines is None:
            return text
        lines = text.splitlines(keepends=True)
        return "".join(lines[-num_lines:]) if num_lines > 0 else ""

    def stop(self, grace_seconds: float = 5.0) -> None:
        """Stop the current run (SIGTERM, then SIGKILL after ``grace_seconds``) and supervising;
        the container ends ``Stopped`` (its error and restart count are kept). Idempotent."""
        self._stopping.set()
        with self._launch_lock:
            launch = self._launch
        if launch is not None:
            launch.stop(grace_seconds)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(grace_seconds + 10)
        if self._reservation is not None:
            self._reservation.release()
        self._update(state=ContainerState.STOPPED, reason="Stopped")

    def __enter__(self) -> Container:
        return self if self._thread is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        status = self.status
        return f"Container({self.name!r}, state={status.state}, port={status.port})"

    # -- supervision -----------------------------------------------------------------------

    def _spec(self) -> LaunchSpec:
        config = self.config
        return LaunchSpec(
            name=config.name,
            image_location=config.image_location,
            port=self._port,
            log_path=self.log_path,
            # App Insights telemetry (when the server enables it) next to the replica's log
            environment={**config.environment, TELEMETRY_FILE: str(telemetry_path(self.log_path))},
            cpu_cores=config.cpu_cores,
            memory_gb=config.memory_gb,
            labels=container_labels(config.name, config.service, config.replica),
            mounts=config.mounts,
        )

    def _supervise_safely(self, launch: Launch) -> None:
        """The thread's body: a bug in supervision fails the container visibly, never silently."""
        try:
            self._supervise(launch)
        except Exception as exc:
            logger.exception("Supervising container %s failed", self.name)
            with self._launch_lock:
                current = self._launch
            if current is not None:
                current.stop(0)
            self._update(
                state=ContainerState.FAILED,
                error={
                    "code": "EmulatorError",
                    "message": f"[emulator] supervision failed: {exc!r}",
                },
                reason="supervision failed",
            )
            self._release_port()

    def _supervise(self, launch: Launch) -> None:
        policy = self.config.restart
        failures = 0
        ever_ready = False
        while True:
            end = self._watch(launch)
            if self._stopping.is_set() or reaper.shutting_down():
                return  # stop() (or the session's exit) stops the run, with its own grace
            launch.stop(policy.termination_grace_seconds * self.scale)
            ever_ready = ever_ready or end.ready_seconds > 0
            if end.ready_seconds >= policy.reset_after_seconds * self.scale:
                failures = 0
            failures += 1
            restarts = self.status.restart_count
            if failures > policy.max_restarts:
                self._fail(end, restarts)
                return
            delay = policy.backoff(failures) * self.scale
            self._note(
                f"{end.why}; restarting in {delay:.2g} s ({restarts + 1} of {policy.max_restarts})"
            )
            self._update(
                state=ContainerState.UNHEALTHY if ever_ready else ContainerState.TRANSITIONING,
                last_exit=end.status,
                reason=f"CrashLoopBackOff: back-off {delay:.2g}s restarting failed container "
                f"({end.why})",
            )
            if self._stopping.wait(delay):
                return
            with self._launch_lock:
                if self._stopping.is_set() or reaper.shutting_down():
                    return
                try:
                    launch = self.backend.launch(self._spec())
                except Exception as exc:  # the image vanished, the engine stopped, ...
                    message = exc.message if isinstance(exc, EmulatorError) else str(exc)
                    self._update(
                        state=ContainerState.FAILED,
                        error=messages.start_error(self.name, message),
                        reason="could not be restarted",
                    )
                    self._release_port()
                    return
                self._launch = launch
            self._update(
                restart_count=restarts + 1, reason=f"Restarted ({end.why})", limits=launch.limits
            )

    def _watch(self, launch: Launch) -> RunEnd:
        """Probe one run until it ends (:mod:`emulator.runtime.watch`); the probes' verdicts
        on traffic become the status (``Healthy`` / ``Unhealthy`` with the probe's reason)."""
        return RunWatch(
            port=self._port,
            liveness=self.config.liveness,
            readiness=self.config.readiness,
            routes=self.config.routes,
            paths=self.config.probe_paths,
            scale=self.scale,
            grace_seconds=self.config.restart.termination_grace_seconds * self.scale,
            stopping=self._stopping,
            on_ready=lambda: self._update(state=ContainerState.HEALTHY, reason=None),
            on_unready=lambda why: self._update(state=ContainerState.UNHEALTHY, reason=why),
        ).watch(launch)

    def _fail(self, end: RunEnd, restarts: int) -> None:
        tail = self._log_tail()
        if end.status is not None and end.status.oom_killed:
            error = messages.oom_error(
                self.name, self.config.memory_gb, restarts, end.why, tail, self.status.limits
            )
        else:
            image = self.config.image_name or self.config.image_location
            error = messages.crash_loop_error(self.name, image, restarts, end.why, tail)
        self._note(f"{end.why}; gave up after {restarts} restart(s): {error['code']}")
        self._update(
            state=ContainerState.FAILED, error=error, last_exit=end.status, reason=error["code"]
        )
        self._release_port()

    # -- helpers ---------------------------------------------------------------------------

    def _update(self, **changes: Any) -> None:
        with self._state_lock:
            if self._status.state is ContainerState.STOPPED and "state" in changes:
                return  # stop() is final
            self._status = replace(self._status, **changes)
            self._state_lock.notify_all()

    def _note(self, text: str) -> None:
        """An ``[emulator]`` line in the log, between runs (no run writes to it then)."""
        try:
            with open(self.log_path, "a", encoding="utf-8") as handle:
                handle.write(f"{messages.RUN_SEPARATOR}{self.name}: {text}\n")
        except OSError:
            pass

    def _log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(max(0, handle.seek(0, 2) - _LOG_TAIL_BYTES))
                return handle.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def _release_port(self) -> None:
        if self._reservation is not None:
            self._reservation.release()
