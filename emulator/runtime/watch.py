"""Watching one run of a replica: when its server is probed, and what the answers decide.

The container (:mod:`emulator.runtime.container`) owns a replica's life: launches, restarts
with back-off, giving up. What happens *during* one run is kubelet's prober, kept here so the
probe schedule can be read (and changed) in one place, apart from the restart policy:

- Start-up: readiness is probed as fast as the supervisor ticks (every :data:`TICK_SECONDS`),
  so ``Healthy`` shows as soon as ``init()`` returns, once ``success_threshold`` answers in a
  row came back. A readiness probe of its own (SDK v2) is not tried before its
  ``initial_delay_seconds`` (an orchestration delay, so scaled).
- Liveness during start-up: from ``initial_delay_seconds`` after the launch, one result per
  ``period_seconds`` counts, as in Kubernetes. Both are Azure's values *unscaled*: initial
  delay + period x failure threshold is the time Azure gives a slow ``init()`` (user code,
  not orchestration).
- After start-up: one probe every period (the shorter of the two probes', scaled) serves both.
  Without a readiness probe (v1 AKS) every failed liveness probe takes the replica out of
  traffic at once and the next success brings it back; with one, it leaves traffic after its
  ``failure_threshold`` failures and comes back after ``success_threshold`` successes.
- ``failure_threshold`` liveness failures in a row, at any time: the run is stopped (with the
  termination grace) and the watch ends, saying why.
- Where: ``GET /`` of the scoring server (or the paths a replica's server answers them at:
  a Triton server's ``/v2/health/live`` and ``/v2/health/ready``), or a custom container's own
  liveness and readiness routes (:class:`~emulator.runtime.probes.ImageRoutes`), each probed at
  its port and path.

The watcher decides nothing about restarts: it tells its listener when the replica may get
traffic (``on_ready``) and when not (``on_unready``, with the reason), and returns a
:class:`RunEnd` for the container's restart decision.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from emulator.runtime.backends.base import ExitStatus, Launch
from emulator.runtime.probes import (
    HttpRoute,
    ImageRoutes,
    ProbeCounter,
    ProbeResult,
    ProbeSettings,
    http_probe,
)

#: How often the supervisor checks a run (exit, readiness); not an Azure setting.
TICK_SECONDS = 0.05


@dataclass(frozen=True)
class RunEnd:
    """How a run ended: its exit (``None`` while stop was requested before it exited), why, in
    the log's and the status's words, and how long it had been ready (0 if never)."""

    status: ExitStatus | None
    why: str
    ready_seconds: float


class RunWatch:
    """The probes of one run of the replica listening on ``port`` (see the module docstring).

    ``scale`` is the time scale of orchestration delays; ``grace_seconds`` (already scaled) the
    termination grace of a liveness kill. ``stopping`` ends the watch early (``stop()``, the
    session's exit). ``on_ready``/``on_unready`` are called only when the replica's traffic
    changes (``on_unready`` on every failed liveness probe without a readiness probe, so the
    reason stays current)."""

    def __init__(
        self,
        *,
        port: int,
        liveness: ProbeSettings,
        readiness: ProbeSettings | None,
        routes: ImageRoutes | None = None,
        paths: tuple[str, str] = ("/", "/"),
        scale: float,
        grace_seconds: float,
        stopping: threading.Event,
        on_ready: Callable[[], None],
        on_unready: Callable[[str], None],
    ) -> None:
        self.port = port
        self.liveness = liveness
        self.readiness = readiness
        live = HttpRoute(port, paths[0])
        ready = HttpRoute(port, paths[1]) if readiness else live
        self.live_route = live if routes is None else routes.liveness
        #: Without a readiness probe of its own, liveness's answers gate traffic (v1 AKS).
        self.ready_route = (
            ready if routes is None else routes.readiness if readiness else routes.liveness
        )
        self.scale = scale
        self.grace_seconds = grace_seconds
        self.stopping = stopping
        self.on_ready = on_ready
        self.on_unready = on_unready
        #: Whether the replica gets traffic now (as last reported to the listener).
        self.serving = False

    def watch(self, launch: Launch) -> RunEnd:
        """Probe ``launch`` until it ends, is killed for failing liveness, or stop is requested."""
        settings = self.liveness
        gate = self.readiness
        ready_settings = gate or settings
        period = min(settings.period_seconds, ready_settings.period_seconds) * self.scale
        started = time.monotonic()
        live_from = started + settings.initial_delay_seconds
        ready_from = started + (gate.initial_delay_seconds * self.scale if gate else 0.0)
        readiness, liveness = ProbeCounter(ready_settings), ProbeCounter(settings)
        ready_at: float | None = None
        next_probe = started
        while not self.stopping.wait(TICK_SECONDS if ready_at is not None else 0):
            status = launch.exit_status()
            ready_for = 0.0 if ready_at is None else time.monotonic() - ready_at
            if status is not None:
                return RunEnd(status, exit_reason(status), ready_for)
            now = time.monotonic()
            if ready_at is None and now < ready_from:
                self.stopping.wait(min(TICK_SECONDS, ready_from - now))
            elif ready_at is None:
                result = _probe(self.ready_route, ready_settings.timeout_seconds)
                readiness.observe(result)
                if readiness.passed:
                    ready_at, next_probe = now, now + period
                    self._ready()
                    continue
                if now >= live_from and now >= next_probe:
                    # Once per period, as Kubernetes; unscaled (see the module docstring).
                    liveness.observe(self._liveness(result, settings.timeout_seconds))
                    next_probe = now + settings.period_seconds
                if not result.ok:
                    self.stopping.wait(TICK_SECONDS)
            elif now >= next_probe:
                result = _probe(self.live_route, settings.timeout_seconds)
                liveness.observe(result)
                next_probe = time.monotonic() + period
                if gate is None:
                    self._liveness_gates_traffic(result)
                else:
                    readiness.observe(self._readiness(result, ready_settings.timeout_seconds))
                    self._readiness_gates_traffic(readiness)
            if liveness.failed:
                why = (
                    f"Liveness probe failed {liveness.failures} times "
                    f"({liveness.last.detail if liveness.last else 'no answer'}): killed"
                )
                launch.stop(self.grace_seconds)
                return RunEnd(launch.exit_status(), why, ready_for)
        return RunEnd(None, "stopped", 0.0)

    def _liveness(self, readiness: ProbeResult, timeout: float) -> ProbeResult:
        """Liveness's answer, given readiness's: the same when both ask the same route."""
        same = self.live_route == self.ready_route
        return readiness if same else _probe(self.live_route, timeout)

    def _readiness(self, liveness: ProbeResult, timeout: float) -> ProbeResult:
        """Readiness's answer, given liveness's: the same when both ask the same route."""
        same = self.live_route == self.ready_route
        return liveness if same else _probe(self.ready_route, timeout)

    def _ready(self) -> None:
        self.serving = True
        self.on_ready()

    def _liveness_gates_traffic(self, result: ProbeResult) -> None:
        """v1 AKS: one failed liveness probe takes the replica out of traffic, one success back."""
        if not result.ok:
            self.serving = False
            self.on_unready(f"Liveness probe failed: {result.detail}")
        elif not self.serving:
            self._ready()

    def _readiness_gates_traffic(self, readiness: ProbeCounter) -> None:
        if readiness.failed and self.serving:
            detail = readiness.last.detail if readiness.last else "no answer"
            self.serving = False
            self.on_unready(f"Readiness probe failed {readiness.failures} times: {detail}")
        elif readiness.passed and not self.serving:
            self._ready()


def _probe(route: HttpRoute, timeout: float) -> ProbeResult:
    return http_probe(route.port, timeout, route.path)


def exit_reason(status: ExitStatus) -> str:
    """Why a run exited, in Kubernetes' words (``OOMKilled``, ``Error``) plus the exit code."""
    if status.oom_inferred:
        return (
            "OOMKilled: inferred from a MemoryError in the log, the per-process rlimit having "
            f"refused an allocation (exit code {status.code})"
        )
    if status.oom_killed:
        return f"OOMKilled: the memory limit was reached (exit code {status.code})"
    return f"Error: exited with code {status.code}"
