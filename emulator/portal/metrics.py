"""Request counters, latency and replica counts over time, for every running service.

Counters live in the process hosting a service, as running totals; each gateway reports those
of its services at ``GET /.amlemu/metrics``. The portal reads them every second from every
gateway the workspace's services are reached through, whichever process hosts them, and keeps
the samples so it can chart them. A service whose host has exited has no new samples.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from emulator.sdk.webservice.base import services
from emulator.sdk.workspace import Workspace
from emulator.services.gateway import METRICS_PATH
from emulator.services.records import ServiceState

_KEEP = 900  # samples per service: 15 minutes at one a second
_TIMEOUT = 1.0  # seconds to wait for a gateway's counters
_FIELDS = ("statuses", "scored", "scoringSeconds", "replicas")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")

Series = dict[str, list[tuple[float, float]]]


@dataclass(frozen=True)
class Sample:
    timestamp: float
    statuses: dict[str, int]
    scored: int
    scoring_seconds: float
    replicas: int


class MetricsRecorder:
    """Samples the counters of the workspace's services, from a daemon thread."""

    def __init__(self, workspace: Workspace, interval: float = 1.0) -> None:
        self.workspace = workspace
        self.interval = interval
        self._samples: dict[str, deque[Sample]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._last = 0.0

    def start(self) -> None:
        threading.Thread(target=self._run, name="portal-metrics", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def sample(self) -> None:
        """Read every gateway once and append a sample for each service it reports (a page
        view samples too; calls within a tenth of the interval of the last are skipped)."""
        now = time.time()
        with self._lock:
            if now - self._last < self.interval / 10:
                return
            self._last = now
        gateways: dict[tuple[str, int], set[str]] = {}
        for record in services(self.workspace).registry.records():
            address = _gateway(record.scoring_uri)
            if address is not None and record.state is not ServiceState.FAILED:
                gateways.setdefault(address, set()).add(record.name)
        for address, names in gateways.items():
            counters = _read(address)
            with self._lock:
                for name in names & counters.keys():
                    reported = counters[name]
                    self._samples.setdefault(name, deque(maxlen=_KEEP)).append(
                        Sample(
                            now,
                            reported["statuses"],
                            reported["scored"],
                            reported["scoringSeconds"],
                            reported["replicas"],
                        )
                    )

    def live(self, name: str) -> bool:
        """Whether ``name``'s counters have been read (its host runs and its gateway answers)."""
        with self._lock:
            return bool(self._samples.get(name))

    def requests(self, name: str) -> Series:
        """Answers per second between samples, in total and per status code."""
        samples = self._history(name)
        codes = sorted({code for sample in samples for code in sample.statuses})
        out: Series = {"all": []}
        out.update({code: [] for code in codes})
        for before, after in itertools.pairwise(samples):
            span = max(after.timestamp - before.timestamp, 1e-3)
            deltas = {c: after.statuses.get(c, 0) - before.statuses.get(c, 0) for c in codes}
            out["all"].append((after.timestamp, round(sum(deltas.values()) / span, 2)))
            for code in codes:
                out[code].append((after.timestamp, round(deltas[code] / span, 2)))
        return out if out["all"] else {}

    def latency(self, name: str) -> Series:
        """Mean scoring latency (ms, as clients saw it at the front end) per interval with
        answers."""
        points = []
        for before, after in itertools.pairwise(self._history(name)):
            answered = after.scored - before.scored
            if answered > 0:
                seconds = after.scoring_seconds - before.scoring_seconds
                points.append((after.timestamp, round(seconds / answered * 1000, 2)))
        return {"mean ms": points} if points else {}

    def replicas(self, name: str) -> Series:
        """The replica count at each sample."""
        points = [(sample.timestamp, float(sample.replicas)) for sample in self._history(name)]
        return {"replicas": points} if points else {}

    def _history(self, name: str) -> list[Sample]:
        with self._lock:
            return list(self._samples.get(name, ()))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except Exception:  # a record written just now; the next tick reads it whole
                continue


def _gateway(scoring_uri: str | None) -> tuple[str, int] | None:
    """The loopback host and port of a scoring URI; None for any other (the portal never
    sends a request off this machine)."""
    if not scoring_uri:
        return None
    try:
        parts = urlsplit(scoring_uri)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if host not in _LOOPBACK or port is None:
        return None
    return host, port


def _read(address: tuple[str, int]) -> dict[str, dict[str, Any]]:
    """A gateway's counters by service name; empty when it does not answer (its host exited)."""
    connection = http.client.HTTPConnection(*address, timeout=_TIMEOUT)
    try:
        connection.request("GET", METRICS_PATH)
        response = connection.getresponse()
        if response.status != 200:
            return {}
        document = json.loads(response.read())
    except (OSError, ValueError):
        return {}
    finally:
        connection.close()
    if not isinstance(document, dict):  # not a gateway of this emulator
        return {}
    return {name: counters for name, counters in document.items() if _complete(counters)}


def _complete(counters: Any) -> bool:
    return isinstance(counters, dict) and all(key in counters for key in _FIELDS)
