"""``examples/client_retries.py``: a client's retry logic against injected faults, end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from assets import run_example


@pytest.mark.slow
def test_the_retrying_client_survives_every_transient_fault(tmp_path: Path) -> None:
    out = run_example("client_retries.py", tmp_path)
    assert "no faults: 5 calls ok, 0 retries" in out
    for section in ("503 on 30%", "429s and dropped", "a replica killed", "slow replies"):
        line = next(line for line in out.splitlines() if line.startswith(section))
        assert "calls ok" in line
    assert "a 400 is not retried: HTTP 400" in out
    assert "a service that stays down: gave up after 3 attempts" in out
    logged = int(out.rsplit("injected faults in the service's log: ", 1)[1].split()[0])
    assert logged >= 12  # injected/removed/applied lines of the eight faults
