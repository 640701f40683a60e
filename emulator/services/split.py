"""One scoring URI in front of several services, each taking a share of the requests: the
router of an AKS endpoint (the SDK v1's ``AksEndpoint``) that splits its traffic between its
versions by their ``traffic_percentile``.

The split is a smooth weighted round robin (nginx's; the v2 online endpoints route the same way,
see :mod:`emulator.endpoints.routing`), so 30 % sends exactly 3 of every 10 requests to that
version, interleaved with the others, from the first requests on: a controlled rollout tested
with 20 requests sees exactly 6 of them at the 30 % version, where a random draw would make the
test flaky. The counters restart whenever the shares change.

The versions are ordinary services on the same cluster router; the split only chooses which one
answers, so each version's own key check, admission gate, limits and faults apply unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from emulator.server.messages import HttpRequest, HttpResponse
from emulator.services import responses
from emulator.services.route import ServiceRoute


class WeightedRoundRobin:
    """Smooth weighted round robin over named, non-negative integer weights."""

    def __init__(self, weights: Mapping[str, int]) -> None:
        self.weights = {name: weight for name, weight in weights.items() if weight > 0}
        self._current = dict.fromkeys(self.weights, 0)

    def next(self) -> str | None:
        """The next name, or ``None`` when no name has a positive weight."""
        if not self.weights:
            return None
        total = sum(self.weights.values())
        for name, weight in self.weights.items():
            self._current[name] += weight
        chosen = max(self._current, key=lambda name: self._current[name])
        self._current[chosen] -= total
        return chosen


class SplitRoute(ServiceRoute):
    """A route with no replicas of its own: each request goes to one of the services whose
    shares :meth:`set_shares` gave, looked up through ``lookup`` (the cluster router's routes)."""

    def __init__(self, name: str, lookup: Callable[[str], ServiceRoute | None]) -> None:
        super().__init__(name, list)
        self._lookup = lookup
        self._lock = threading.Lock()
        self._robin = WeightedRoundRobin({})
        self._fallback: str | None = None

    def set_shares(self, shares: Mapping[str, int], fallback: str | None) -> None:
        """Route by ``shares`` (service name -> weight) from the next request on; requests that
        are not scoring calls (``swagger.json``) go to ``fallback`` (the default version)."""
        with self._lock:
            if dict(shares) != self._robin.weights or fallback != self._fallback:
                self._robin = WeightedRoundRobin(shares)
                self._fallback = fallback

    @property
    def shares(self) -> dict[str, int]:
        return dict(self._robin.weights)

    async def handle(self, request: HttpRequest, endpoint: str, target: str) -> HttpResponse | None:
        with self._lock:
            chosen = self._robin.next() if endpoint == "score" else self._fallback
        self.counters.requests += 1
        route = self._lookup(chosen) if chosen is not None else None
        if route is None:
            response = responses.no_ready_replicas(self.name)
            self.counters.statuses[response.status] += 1
            return responses.ensure_request_id(request, response)
        return await route.handle(request, endpoint, target)
