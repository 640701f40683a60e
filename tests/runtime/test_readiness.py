"""A replica with a readiness probe of its own (SDK v2 deployments' ``readiness_probe``): a
server that stops answering leaves traffic after the readiness failures, is killed only after
the liveness failures, and comes back into traffic without a restart when it answers again."""

from __future__ import annotations

import os
import signal
import time

import pytest
from runtime_harness import READY_TIMEOUT, StartContainer

from emulator.runtime.container import ContainerState
from emulator.runtime.probes import ProbeSettings


@pytest.mark.slow
def test_readiness_takes_a_stuck_replica_out_of_traffic_and_back_without_a_restart(
    start_container: StartContainer,
) -> None:
    readiness = ProbeSettings(period_seconds=10, timeout_seconds=0.3, failure_threshold=2)
    liveness = ProbeSettings(period_seconds=10, timeout_seconds=0.3, failure_threshold=1000)
    container = start_container(
        "server/score_misbehaves.py", liveness=liveness, readiness=readiness
    )
    assert container.wait_until_ready(READY_TIMEOUT).ready, container.logs()
    server_pid = int(container._launch.ident)  # type: ignore[union-attr]
    os.kill(server_pid, signal.SIGSTOP)  # alive, but answers nothing
    try:
        deadline = time.monotonic() + 20
        while container.status.state is not ContainerState.UNHEALTHY:
            assert time.monotonic() < deadline, container.logs()
            time.sleep(0.02)
        status = container.status
        assert not status.ready  # the gateway sends it nothing
        assert "Readiness probe failed 2 times" in (status.reason or "")
    finally:
        os.kill(server_pid, signal.SIGCONT)
    assert container.wait_until_ready(READY_TIMEOUT).ready, container.logs()
    assert container.status.restart_count == 0  # liveness's threshold was never reached
