"""The router's limits: replica_max_concurrent_requests, max_request_wait_time (503) and
scoring_timeout_ms (504), with Azure's defaults (1 request per replica, 500 ms of waiting)."""

from __future__ import annotations

import asyncio
import time

from service_harness import Pool, call, concurrently, wait_until

from emulator.services import Replica, ServiceSettings
from emulator.services.admission import AdmissionGate, Overloaded

SCORE = "/api/v1/service/svc/score"


def test_second_request_gets_503_after_the_default_wait(replica_factory, gateway_factory) -> None:
    # anchors.md row 9: 503 "Too many requests for service X (overloaded)", even for 2 requests
    replica = replica_factory("r1", delay=2.0)
    gateway = gateway_factory()
    gateway.add_service("svc", Pool([replica]), ServiceSettings())  # Azure's defaults
    first, second = concurrently([lambda: call(gateway.port, SCORE)] * 2, stagger=0.1)
    assert first.status == 200 and first.elapsed >= 1.9
    assert (second.status, second.reason) == (503, "Service Unavailable")
    assert second.text == "Too many requests for service svc (overloaded)"
    assert 0.45 <= second.elapsed < 1.8  # did not wait for the 2 s request
    assert "replica_max_concurrent_requests=1" in (second.header("x-amlemu-hint") or "")
    assert replica.peak == 1 and replica.hits == 1
    metrics = gateway.service("svc").metrics()
    assert (metrics.requests, metrics.overloaded, metrics.statuses) == (2, 1, {200: 1, 503: 1})


def test_queued_requests_get_the_next_free_slot(replica_factory, gateway_factory) -> None:
    replica = replica_factory("r1", delay=0.15)
    gateway = gateway_factory()
    gateway.add_service("svc", Pool([replica]), ServiceSettings(max_request_wait_time=2000))
    answers = concurrently([lambda: call(gateway.port, SCORE)] * 4)
    assert [answer.status for answer in answers] == [200] * 4
    assert replica.peak == 1  # one at a time, the others waited at the front
    assert sorted(answer.elapsed for answer in answers)[-1] >= 0.55


def test_concurrency_limit_per_replica(replica_factory, gateway_factory) -> None:
    replica = replica_factory("r1", delay=0.5)
    gateway = gateway_factory()
    route = gateway.add_service(
        "svc", Pool([replica]), ServiceSettings(replica_max_concurrent_requests=2)
    )
    seen: list[dict[str, int]] = []

    def watch() -> None:
        wait_until(lambda: route.metrics().total_in_flight == 2)
        seen.append(route.metrics().in_flight)

    results = concurrently([lambda: call(gateway.port, SCORE)] * 2 + [watch])  # type: ignore[list-item]
    assert [answer.status for answer in results[:2]] == [200, 200]
    assert seen == [{"r1": 2}] and replica.peak == 2
    assert route.metrics().in_flight == {}


def test_scoring_timeout_gives_504(replica_factory, gateway_factory) -> None:
    replica = replica_factory("r1")
    gateway = gateway_factory()
    route = gateway.add_service("svc", Pool([replica]), ServiceSettings(scoring_timeout_ms=300))
    slow = call(gateway.port, SCORE, headers={"x-test-sleep": "2"})
    assert (slow.status, slow.reason) == (504, "Gateway Timeout")
    assert slow.text == "Request timed out for service svc after 300 ms (scoring_timeout_ms)"
    assert 0.25 <= slow.elapsed < 1.9
    assert route.metrics().timeouts == 1 and route.metrics().in_flight == {}
    assert call(gateway.port, SCORE).status == 200  # the slot was given back


def test_no_ready_replica_gives_503(replica_factory, gateway_factory) -> None:
    starting = replica_factory("r1", ready=False)
    gateway = gateway_factory()
    gateway.add_service("svc", Pool([starting]), ServiceSettings(max_request_wait_time=100))
    answer = call(gateway.port, SCORE)
    assert (answer.status, answer.text) == (503, "No ready replicas for service svc")
    assert starting.hits == 0
    empty = gateway_factory()
    empty.add_service("svc", Pool([]), ServiceSettings(max_request_wait_time=0))
    assert call(empty.port, SCORE).text == "No ready replicas for service svc"


def test_a_replica_becoming_ready_serves_waiting_requests(replica_factory, gateway_factory) -> None:
    replica = replica_factory("r1", ready=False)
    gateway = gateway_factory()
    gateway.add_service("svc", Pool([replica]), ServiceSettings(max_request_wait_time=3000))

    def become_ready() -> None:
        time.sleep(0.3)
        replica.ready = True  # nobody calls notify(): the waiters re-check by themselves

    answer = concurrently([lambda: call(gateway.port, SCORE), become_ready])[0]  # type: ignore[list-item]
    assert answer.status == 200 and 0.3 <= answer.elapsed < 2.5


def test_gate_hands_slots_over_in_arrival_order() -> None:
    replica = Replica(id="r", port=1)

    async def scenario() -> tuple[list[int], dict[str, int]]:
        gate = AdmissionGate(lambda: [replica], lambda: 1)
        held = await gate.acquire(0.1)
        order: list[int] = []

        async def waiter(number: int) -> None:
            got = await gate.acquire(1.0)
            order.append(number)
            await asyncio.sleep(0.01)
            gate.release(got)

        tasks = [asyncio.create_task(waiter(n)) for n in range(3)]
        await asyncio.sleep(0.01)
        assert gate.try_acquire() is None  # no jumping the queue
        cancelled = asyncio.create_task(gate.acquire(1.0))
        await asyncio.sleep(0.01)
        cancelled.cancel()
        gate.release(held)
        await asyncio.gather(*tasks)
        try:
            await gate.acquire(0)
        except Overloaded:
            raise AssertionError("the slot leaked") from None
        return order, gate.in_flight

    order, in_flight = asyncio.run(scenario())
    assert order == [0, 1, 2] and in_flight == {"r": 1}


def test_gate_timeout_reports_overload_or_no_ready() -> None:
    async def scenario() -> tuple[bool, bool, float]:
        busy = AdmissionGate(lambda: [Replica(id="r", port=1)], lambda: 1)
        await busy.acquire(0)
        started = time.monotonic()
        try:
            await busy.acquire(0.2)
        except Overloaded as error:
            overloaded = error.no_ready
        waited = time.monotonic() - started
        down = AdmissionGate(lambda: [Replica(id="r", port=1, ready=False)], lambda: 1)
        try:
            await down.acquire(0)
        except Overloaded as error:
            no_ready = error.no_ready
        return overloaded, no_ready, waited

    overloaded, no_ready, waited = asyncio.run(scenario())
    assert (overloaded, no_ready) == (False, True) and 0.19 <= waited < 0.5
