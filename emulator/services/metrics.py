"""Per-service counters (requests, answers by status, 503s, 504s) and the load the autoscaler
reads: requests in flight per replica plus queued ones, averaged over time."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class MetricsSnapshot:
    """A service's counters at one moment."""

    #: Requests that reached the service's routes (``/score`` and ``/swagger.json``).
    requests: int
    #: Answers by status code, the replicas' and the front end's alike.
    statuses: dict[int, int]
    #: 503s the front end gave (overloaded or no ready replica).
    overloaded: int
    #: 504s the front end gave (``scoring_timeout_ms``).
    timeouts: int
    #: 401s the front end gave.
    unauthorized: int
    #: Requests in flight per replica id (replicas with none are absent).
    in_flight: dict[str, int]
    #: Requests waiting for a replica slot.
    waiting: int
    #: Scoring answers given (any status), and the seconds they took in all, as clients saw
    #: them at the front end: their difference between two snapshots is the mean latency.
    scored: int
    scoring_seconds: float
    #: Replicas the service runs, and how many of them are ready.
    replicas: int
    ready: int

    @property
    def total_in_flight(self) -> int:
        return sum(self.in_flight.values())

    def as_json(self) -> dict[str, object]:
        """The snapshot as the gateway's ``/.amlemu/metrics`` route reports it."""
        return {
            "requests": self.requests,
            "statuses": {str(code): count for code, count in sorted(self.statuses.items())},
            "overloaded": self.overloaded,
            "timeouts": self.timeouts,
            "unauthorized": self.unauthorized,
            "inFlight": self.total_in_flight,
            "waiting": self.waiting,
            "scored": self.scored,
            "scoringSeconds": self.scoring_seconds,
            "replicas": self.replicas,
            "ready": self.ready,
        }


@dataclass
class ServiceCounters:
    requests: int = 0
    overloaded: int = 0
    timeouts: int = 0
    unauthorized: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    scored: int = 0
    scoring_seconds: float = 0.0


class LoadMeter:
    """The time-weighted average of a level (requests in flight + waiting) between readings."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._level = 0
        self._since = clock()
        self._last = self._since
        self._area = 0.0

    def set(self, level: int) -> None:
        now = self._clock()
        self._area += self._level * (now - self._last)
        self._last = now
        self._level = level

    @property
    def level(self) -> int:
        return self._level

    def take_average(self) -> float:
        """The average level since the previous call; restarts the window."""
        now = self._clock()
        area = self._area + self._level * (now - self._last)
        span = now - self._since
        self._since = self._last = now
        self._area = 0.0
        return area / span if span > 0 else float(self._level)
