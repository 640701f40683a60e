"""Fixtures for the gateway tests: fake replicas that are stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from service_harness import FakeReplica

from emulator.services import Gateway, GatewayMode


@pytest.fixture
def replica_factory() -> Iterator[Callable[..., FakeReplica]]:
    started: list[FakeReplica] = []

    def make(ident: str, delay: float = 0.0, ready: bool = True) -> FakeReplica:
        replica = FakeReplica(ident, delay, ready)
        started.append(replica)
        return replica

    yield make
    for replica in started:
        replica.stop()


@pytest.fixture
def gateway_factory() -> Iterator[Callable[..., Gateway]]:
    started: list[Gateway] = []

    def make(mode: GatewayMode = "aks") -> Gateway:
        gateway = Gateway(mode)
        gateway.start()
        started.append(gateway)
        return gateway

    yield make
    for gateway in started:
        gateway.stop()
