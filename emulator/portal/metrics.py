"""Request counters over time for the services this process hosts.

The gateway keeps only running totals (:meth:`ServiceRoute.metrics`), and only in the process
that deployed the service; the portal samples them every second so it can chart requests per
status code over time. Services hosted by other processes have no samples.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass

from emulator.sdk.webservice.base import services
from emulator.sdk.workspace import Workspace

_KEEP = 900  # samples per service: 15 minutes at one a second


@dataclass(frozen=True)
class Sample:
    timestamp: float
    requests: int
    statuses: dict[int, int]


class MetricsRecorder:
    """Samples the counters of every service hosted here, from a daemon thread."""

    def __init__(self, workspace: Workspace, interval: float = 1.0) -> None:
        self.workspace = workspace
        self.interval = interval
        self._samples: dict[str, deque[Sample]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._run, name="portal-metrics", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def hosted(self, name: str) -> bool:
        """Whether this process hosts ``name`` (and so has its counters)."""
        deployment = services(self.workspace).deployment(name)
        return deployment is not None and deployment.route is not None

    def sample(self) -> None:
        manager = services(self.workspace)
        now = time.time()
        for record in manager.registry.records():
            deployment = manager.deployment(record.name)
            if deployment is None or deployment.route is None:
                continue
            snap = deployment.route.metrics()
            with self._lock:
                samples = self._samples.setdefault(record.name, deque(maxlen=_KEEP))
                samples.append(Sample(now, snap.requests, dict(snap.statuses)))

    def series(self, name: str) -> dict[str, list[tuple[float, float]]]:
        """Requests per sampling interval, in total and per status code."""
        with self._lock:
            samples = list(self._samples.get(name, ()))
        codes = sorted({code for s in samples for code in s.statuses})
        out: dict[str, list[tuple[float, float]]] = {"all": []}
        out.update({str(code): [] for code in codes})
        for before, after in itertools.pairwise(samples):
            out["all"].append((after.timestamp, after.requests - before.requests))
            for code in codes:
                delta = after.statuses.get(code, 0) - before.statuses.get(code, 0)
                out[str(code)].append((after.timestamp, delta))
        return out if out["all"] else {}

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except Exception:  # a record written just now; the next tick reads it whole
                continue
