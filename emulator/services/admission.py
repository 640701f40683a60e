"""The per-replica concurrency gate with a bounded, first-come-first-served wait.

Azure's router lets at most ``replica_max_concurrent_requests`` requests be in flight on a
replica; a request finding every ready replica full waits up to ``max_request_wait_time`` for
a slot on any of them, then gets 503. Slots are handed to waiters in arrival order the moment
one frees; waiters also re-check every 50 ms, so replicas that become ready (or a raised limit)
are noticed even when nobody calls :meth:`AdmissionGate.notify`. Runs on one event loop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence

from emulator.services.balancer import Balancer
from emulator.services.metrics import LoadMeter
from emulator.services.replicas import Replica

RECHECK_S = 0.05


class Overloaded(Exception):
    """No slot freed in time; ``no_ready`` tells whether there was no ready replica at all."""

    def __init__(self, no_ready: bool) -> None:
        super().__init__("no ready replica" if no_ready else "overloaded")
        self.no_ready = no_ready


class AdmissionGate:
    def __init__(
        self,
        replicas: Callable[[], Sequence[Replica]],
        limit: Callable[[], int | None],
        meter: LoadMeter | None = None,
    ) -> None:
        self._replicas = replicas
        self._limit = limit
        self._balancer = Balancer()
        self._in_flight: dict[str, int] = {}
        self._total = 0
        self._waiters: deque[asyncio.Future[Replica]] = deque()
        self._recheck: asyncio.TimerHandle | None = None
        self.meter = meter or LoadMeter()

    @property
    def in_flight(self) -> dict[str, int]:
        return dict(self._in_flight)

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def pick(self) -> Replica | None:
        """A replica for a request outside the gate (swagger): fewest in flight, no limit."""
        return self._balancer.choose(self._replicas(), self._in_flight, None)

    def try_acquire(self) -> Replica | None:
        """Take a slot now, or None (never jumps the queue)."""
        if self._waiters:
            return None
        return self._take()

    async def acquire(self, wait_s: float) -> Replica:
        """Take a slot, waiting at most ``wait_s`` seconds; raises :class:`Overloaded`."""
        replica = self.try_acquire()
        if replica is not None:
            return replica
        if wait_s <= 0:
            raise Overloaded(self._no_ready())
        future: asyncio.Future[Replica] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        self._measure()
        self._arm_recheck()
        try:
            return await asyncio.wait_for(future, wait_s)
        except asyncio.TimeoutError:
            if future.done() and not future.cancelled():
                return future.result()  # handed a slot just as the wait ended
            raise Overloaded(self._no_ready()) from None
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release(future.result())
            raise
        finally:
            if future in self._waiters:
                self._waiters.remove(future)
                self._measure()

    def release(self, replica: Replica) -> None:
        """Give back the slot taken on ``replica``; the longest waiter gets it."""
        count = self._in_flight.get(replica.id, 0) - 1
        if count > 0:
            self._in_flight[replica.id] = count
        else:
            self._in_flight.pop(replica.id, None)
        self._total -= 1
        self._measure()
        self.notify()

    def notify(self) -> None:
        """Hand free slots to waiters (call after replicas or the limit changed)."""
        while self._waiters:
            future = self._waiters[0]
            if future.done():
                self._waiters.popleft()
                continue
            replica = self._take()
            if replica is None:
                break
            self._waiters.popleft()
            future.set_result(replica)
        self._measure()

    def _take(self) -> Replica | None:
        replica = self._balancer.choose(self._replicas(), self._in_flight, self._limit())
        if replica is not None:
            self._in_flight[replica.id] = self._in_flight.get(replica.id, 0) + 1
            self._total += 1
            self._measure()
        return replica

    def _no_ready(self) -> bool:
        return not any(replica.ready for replica in self._replicas())

    def _measure(self) -> None:
        self.meter.set(self._total + len(self._waiters))

    def _arm_recheck(self) -> None:
        if self._recheck is None:
            self._recheck = asyncio.get_running_loop().call_later(RECHECK_S, self._on_recheck)

    def _on_recheck(self) -> None:
        self._recheck = None
        self.notify()
        if self._waiters:
            self._arm_recheck()

    def close(self) -> None:
        if self._recheck is not None:
            self._recheck.cancel()
            self._recheck = None
