"""``Gateway.answer``: a front end in the same process (an online endpoint's scoring URI) hands
the gateway a request without a loopback connection, and gets what the socket would answer:
the same routing, forwarding, gate, timeouts, body limit and faults."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from service_harness import FakeReplica, Pool, call, wait_until

from emulator.faults import ServiceFaults
from emulator.faults.store import FaultStore
from emulator.server.messages import HttpRequest
from emulator.services import Gateway, ServiceSettings
from emulator.services.injection.front import FrontFaults

ReplicaFactory = Callable[..., FakeReplica]
GatewayFactory = Callable[..., Gateway]


def _request(body: bytes = b'{"data": 1}', *headers: tuple[str, str]) -> HttpRequest:
    return HttpRequest(
        "POST", "/score?x=1", "/score", "x=1", (("Content-Type", "text/plain"), *headers), body
    )


def test_an_in_process_request_is_answered_as_one_on_the_socket(
    replica_factory: ReplicaFactory, gateway_factory: GatewayFactory
) -> None:
    gateway = gateway_factory("aci")
    gateway.add_service("solo", Pool([replica_factory("s1")]), ServiceSettings.aci())
    over_socket = call(
        gateway.port, "/score?x=1", body=b'{"data": 1}', headers={"Content-Type": "text/plain"}
    )
    # what http.client sent on the socket
    sent = (("Host", f"127.0.0.1:{gateway.port}"), ("Accept-Encoding", "identity"))
    answer = gateway.answer(replace(_request(), headers=sent + _request().headers), timeout=10)
    assert answer is not None
    assert (answer.status, answer.body) == (over_socket.status, over_socket.body)
    echoed = over_socket.json()
    assert (echoed["target"], echoed["body"]) == ("/score?x=1", '{"data": 1}')
    assert ["Content-Type", "text/plain"] in echoed["headers"]
    names = {k.lower() for k, _ in over_socket.headers} - {"date", "content-length"}
    assert {k.lower() for k, _ in answer.headers} - {"content-length"} == names
    assert gateway.service("solo").metrics().requests == 2  # both counted alike


def test_the_gateways_timeout_gate_and_body_limit_apply(
    replica_factory: ReplicaFactory, gateway_factory: GatewayFactory
) -> None:
    gateway = gateway_factory("aci")
    gateway.add_service(
        "slow",
        Pool([replica_factory("s1", delay=1.0)]),
        ServiceSettings(replica_max_concurrent_requests=1, scoring_timeout_ms=200),
    )
    timed_out = gateway.answer(_request(), timeout=10)
    assert timed_out is not None and timed_out.status == 504  # the front's own answer
    assert b"200" in timed_out.body

    gateway.max_body_bytes = 10
    too_large = gateway.answer(_request(b"x" * 11), timeout=10)
    assert too_large is not None and too_large.status == 413
    assert b"larger than the limit of 10 bytes" in too_large.body


def test_no_answer_in_time_raises_and_cancels_the_request(
    replica_factory: ReplicaFactory, gateway_factory: GatewayFactory
) -> None:
    gateway = gateway_factory("aci")
    replica = replica_factory("s1")
    gateway.add_service("solo", Pool([replica]), ServiceSettings.aci())  # no timeout of its own
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        gateway.answer(_request(b"{}", ("x-test-sleep", "5")), timeout=0.3)
    assert time.monotonic() - started < 2
    route = gateway.service("solo")
    wait_until(lambda: not route.metrics().in_flight, limit=2)  # long before the 5 s run


def test_a_dropped_request_and_a_stopped_gateway(
    tmp_path: Path, replica_factory: ReplicaFactory
) -> None:
    gateway = Gateway("aci")
    gateway.start()
    try:
        route = gateway.add_service("svc", Pool([replica_factory("s1")]), ServiceSettings.aci())
        route.faults = FrontFaults(FaultStore.for_service(tmp_path, 1, "svc"), "svc")
        with ServiceFaults(tmp_path, 1, "svc").drop():
            assert gateway.answer(_request(), timeout=10) is None  # the socket would close
        answer = gateway.answer(_request(), timeout=10)
        assert answer is not None and answer.status == 200
    finally:
        gateway.stop()
    with pytest.raises(ConnectionRefusedError, match="svc"):
        gateway.answer(_request(), timeout=10)
