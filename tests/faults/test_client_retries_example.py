"""``examples/client_retries.py``: a client's retry logic against injected faults, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "client_retries.py"


@pytest.mark.slow
def test_the_retrying_client_survives_every_transient_fault(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AZUREML_EMULATOR_ROOT": str(tmp_path / "root"),
        "AZUREML_EMULATOR_BUILDER": "host",
        "AZUREML_EMULATOR_PROVISIONING_SECONDS": "0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "emulator", "run", str(EXAMPLE)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "no faults: 5 calls ok, 0 retries" in out
    for section in ("503 on 30%", "429s and dropped", "a replica killed", "slow replies"):
        line = next(line for line in out.splitlines() if line.startswith(section))
        assert "calls ok" in line
    assert "a 400 is not retried: HTTP 400" in out
    assert "a service that stays down: gave up after 3 attempts" in out
    logged = int(out.rsplit("injected faults in the service's log: ", 1)[1].split()[0])
    assert logged >= 12  # injected/removed/applied lines of the eight faults
