"""Which replica gets the next request: the ready one with the fewest requests in flight,
ties broken round-robin (so equally idle replicas take turns)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from emulator.services.replicas import Replica


class Balancer:
    def __init__(self) -> None:
        self._turn = 0

    def choose(
        self, replicas: Sequence[Replica], in_flight: Mapping[str, int], limit: int | None
    ) -> Replica | None:
        """A ready replica below ``limit`` in-flight requests (``None``: no limit), or None."""
        count = len(replicas)
        best: Replica | None = None
        best_load = 0
        for offset in range(count):
            replica = replicas[(self._turn + offset) % count]
            if not replica.ready:
                continue
            load = in_flight.get(replica.id, 0)
            if limit is not None and load >= limit:
                continue
            if best is None or load < best_load:
                best, best_load = replica, load
        if best is not None:
            self._turn = (self._turn + 1) % max(count, 1)
        return best
