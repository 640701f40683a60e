"""Replica autoscaling like Azure's AKS autoscaler (a Kubernetes HPA on concurrency).

Every ``autoscale_refresh_seconds`` the autoscaler reads the service's average demand since the
previous evaluation (requests in flight plus requests waiting for a slot, time-weighted) and
turns it into utilization of the concurrency capacity,
``100 * demand / (replicas * replica_max_concurrent_requests)``. Waiting requests count as
demand so that a saturated service (in flight = capacity) still reads above 100 %. The
desired count is HPA's ``ceil(replicas * utilization / target)``, unchanged within a 10 %
tolerance of the target, clamped to ``[autoscale_min_replicas, autoscale_max_replicas]``;
a change calls ``scale(n)`` and is recorded as a :class:`ScaleEvent` in ``history``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from emulator.services.settings import ServiceSettings

log = logging.getLogger("amlemu.autoscaler")
TOLERANCE = 0.1


@dataclass(frozen=True)
class LoadSample:
    #: Average requests in flight + waiting since the previous sample.
    demand: float
    #: Replicas the provider lists (ready or starting).
    replicas: int
    ready: int


@dataclass(frozen=True)
class ScaleEvent:
    """One scaling decision: when (unix time), from how many replicas to how many, and why."""

    timestamp: float
    from_replicas: int
    to_replicas: int
    reason: str
    utilization: float
    #: Set when ``scale(n)`` raised; the replica count then did not change.
    error: str | None = None


class LoadSource(Protocol):
    name: str
    settings: ServiceSettings

    def load_sample(self) -> LoadSample: ...

    def notify(self) -> None: ...


def desired_replicas(
    current: int,
    utilization: float,
    target: float,
    minimum: int,
    maximum: int,
    tolerance: float = TOLERANCE,
) -> int:
    """HPA's rule: ``ceil(current * utilization / target)`` clamped to [minimum, maximum];
    ``current`` when utilization is within ``tolerance`` (relative) of the target."""
    ratio = utilization / target
    if current > 0 and abs(ratio - 1) <= tolerance:
        desired = current
    else:
        desired = math.ceil(current * ratio - 1e-9)
    return max(minimum, min(maximum, desired))


class Autoscaler:
    def __init__(
        self,
        source: LoadSource,
        scale: Callable[[int], Awaitable[None] | None],
        *,
        tolerance: float = TOLERANCE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._source = source
        self._scale = scale
        self.tolerance = tolerance
        self._clock = clock
        #: Every change, oldest first (the service's logs show them).
        self.history: list[ScaleEvent] = []

    async def run(self) -> None:
        """Evaluate every ``autoscale_refresh_seconds`` (re-read each time) until cancelled."""
        while True:
            await asyncio.sleep(max(self._source.settings.autoscale_refresh_seconds, 0.01))
            try:
                await self.evaluate()
            except Exception:  # keep scaling on the next round whatever one round did
                log.exception("autoscaler of service %s failed", self._source.name)

    async def evaluate(self) -> ScaleEvent | None:
        """One evaluation: scale if the demand says so; the event, or None when unchanged."""
        settings = self._source.settings
        sample = self._source.load_sample()
        if not settings.autoscale_enabled:
            return None
        per_replica = settings.replica_max_concurrent_requests or 1
        capacity = sample.replicas * per_replica
        utilization = 100.0 * sample.demand / capacity if capacity else 0.0
        target = settings.autoscale_target_utilization
        desired = desired_replicas(
            sample.replicas,
            utilization,
            target,
            settings.autoscale_min_replicas,
            settings.autoscale_max_replicas,
            self.tolerance,
        )
        if desired == sample.replicas:
            return None
        reason = _reason(sample, utilization, settings, desired)
        timestamp = self._clock()
        error = None
        try:
            if inspect.iscoroutinefunction(self._scale):
                await self._scale(desired)
            else:
                await asyncio.to_thread(self._scale, desired)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.error("service %s: scale(%d) failed: %s", self._source.name, desired, error)
        event = ScaleEvent(timestamp, sample.replicas, desired, reason, utilization, error)
        self.history.append(event)
        self._source.notify()
        self._source.load_sample()  # the next window starts after the change
        return event


def _reason(sample: LoadSample, utilization: float, settings: ServiceSettings, desired: int) -> str:
    if sample.replicas < settings.autoscale_min_replicas:
        return f"{sample.replicas} replicas < autoscale_min_replicas"
    if sample.replicas > settings.autoscale_max_replicas:
        return f"{sample.replicas} replicas > autoscale_max_replicas"
    side = "above" if desired > sample.replicas else "below"
    return (
        f"utilization {utilization:.0f}% {side} target "
        f"{settings.autoscale_target_utilization:g}% (average {sample.demand:.2f} requests "
        f"in flight or waiting, {sample.replicas} replicas x "
        f"{settings.replica_max_concurrent_requests or 1})"
    )
