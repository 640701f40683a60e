"""Autoscaling: HPA's formula, and a live service scaling up under load and back when idle."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
from service_harness import FakeReplica, Pool, call, wait_until

from emulator.services import Autoscaler, Gateway, ServiceSettings, desired_replicas
from emulator.services.autoscaler import LoadSample

SCORE = "/api/v1/service/svc/score"


@pytest.mark.parametrize(
    ("current", "utilization", "expected"),
    [
        (1, 0.0, 1),  # idle: the minimum
        (4, 0.0, 1),
        (1, 100.0, 2),  # ceil(1 * 100 / 70)
        (2, 100.0, 3),
        (3, 75.0, 3),  # within 10 % of the target: unchanged
        (3, 40.0, 2),  # ceil(3 * 40 / 70)
        (1, 1000.0, 5),  # clamped to the maximum
        (0, 0.0, 1),  # below the minimum
    ],
)
def test_desired_replicas(current: int, utilization: float, expected: int) -> None:
    assert desired_replicas(current, utilization, 70.0, 1, 5) == expected


class FakeSource:
    def __init__(self, settings: ServiceSettings, demand: float, replicas: int) -> None:
        self.name = "svc"
        self.settings = settings
        self.demand = demand
        self.replicas = replicas
        self.notified = 0

    def load_sample(self) -> LoadSample:
        return LoadSample(self.demand, self.replicas, self.replicas)

    def notify(self) -> None:
        self.notified += 1


def test_evaluate_scales_and_records_the_change() -> None:
    settings = ServiceSettings(
        autoscale_enabled=True, autoscale_max_replicas=4, replica_max_concurrent_requests=2
    )
    source = FakeSource(settings, demand=3.0, replicas=1)
    asked: list[int] = []
    scaler = Autoscaler(source, asked.append, clock=lambda: 42.0)
    event = asyncio.run(scaler.evaluate())
    assert asked == [3]  # 150 % of 1 x 2 slots -> ceil(1 * 150 / 70)
    assert event is not None and scaler.history == [event]
    assert (event.timestamp, event.from_replicas, event.to_replicas) == (42.0, 1, 3)
    assert event.utilization == 150.0 and event.error is None
    assert event.reason.startswith("utilization 150% above target 70%")
    assert source.notified == 1

    source.replicas, source.demand = 3, 2.0 * 3 * 0.7  # exactly on target
    assert asyncio.run(scaler.evaluate()) is None
    source.settings = ServiceSettings(autoscale_enabled=False)
    source.demand = 0
    assert asyncio.run(scaler.evaluate()) is None and asked == [3]


def test_a_failing_scale_call_is_recorded() -> None:
    def refuse(count: int) -> None:
        raise RuntimeError("no capacity")

    source = FakeSource(ServiceSettings(autoscale_enabled=True), demand=5.0, replicas=1)
    event = asyncio.run(Autoscaler(source, refuse).evaluate())
    assert event is not None and event.error == "RuntimeError: no capacity"


def test_service_scales_up_under_load_and_down_when_idle(gateway_factory) -> None:
    members: list[FakeReplica] = [FakeReplica("r0", delay=0.1)]
    pool = Pool(members)
    lock = threading.Lock()

    def scale(count: int) -> None:  # what the runtime will do: start or stop replicas
        with lock:
            while len(pool.members) < count:
                pool.members.append(FakeReplica(f"r{len(pool.members)}", delay=0.1))
            while len(pool.members) > count:
                pool.members.pop().stop()

    settings = ServiceSettings(
        max_request_wait_time=5000,
        autoscale_enabled=True,
        autoscale_min_replicas=1,
        autoscale_max_replicas=3,
        autoscale_refresh_seconds=0.2,
        autoscale_target_utilization=70,
    )
    gateway = gateway_factory()
    try:
        _drive(gateway, pool, settings, scale)
    finally:
        for member in pool.members:
            member.stop()


def _drive(
    gateway: Gateway, pool: Pool, settings: ServiceSettings, scale: Callable[[int], None]
) -> None:
    route = gateway.add_service("svc", pool, settings, scale=scale)
    scaler = route.autoscaler
    assert scaler is not None
    stop = threading.Event()
    statuses: list[int] = []

    def client() -> None:
        while not stop.is_set():
            statuses.append(call(gateway.port, SCORE).status)

    clients = [threading.Thread(target=client) for _ in range(4)]
    try:
        for thread in clients:
            thread.start()
        wait_until(lambda: len(pool.members) == 3, limit=10)
        wait_until(lambda: sum(m.hits for m in pool.members[1:]) >= 4, limit=5)
    finally:
        stop.set()
        for thread in clients:
            thread.join()
    assert set(statuses) == {200}
    ups = [event for event in scaler.history if event.to_replicas > event.from_replicas]
    assert ups and ups[0].from_replicas == 1 and "above target 70%" in ups[0].reason

    wait_until(lambda: len(pool.members) == 1, limit=10)
    last = scaler.history[-1]
    assert last.to_replicas == 1 and "below target" in last.reason
    stamps = [event.timestamp for event in scaler.history]
    assert stamps == sorted(stamps)
