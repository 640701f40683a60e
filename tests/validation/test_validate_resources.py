"""Measured memory, start-up and run() time against deployment limits (one measured run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.images.context import ImageRequest
from emulator.store.root import EmulatorRoot
from emulator.validation.checks import Severity
from emulator.validation.environment import build_environment
from emulator.validation.limits import Limits
from emulator.validation.resources import Measurements, measure, resource_findings
from emulator.validation.runtime import run_probe
from emulator.validation.target import Sample, environment_from

SCRIPT = Path(__file__).resolve().parents[2] / "fixtures" / "scoring" / "validate_busy.py"


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Measurements:
    """validate_busy.py measured once: init() holds 64 MB and spins 0.3 s of CPU, run() 0.08 s."""
    work = tmp_path_factory.mktemp("busy")
    root = EmulatorRoot(work / "root")
    request = ImageRequest(entry_script=SCRIPT, environment=environment_from([], work))
    env = build_environment(request, work, root, root.blobs, "host")
    run = run_probe(env, [Sample(b"0.08")], work, scoring_timeout_ms=60_000, budget_s=60)
    measured = measure(run)
    assert measured is not None, run.log_tail
    return measured


def _findings(busy: Measurements, **limits: object) -> list[tuple[str, Severity]]:
    values = {"target": "aks", "cpu_cores": 3.5, "memory_gb": 2, **limits}
    target = str(values.pop("target"))
    return [
        (f.check, f.severity) for f in resource_findings(busy, Limits.from_config(target, values))
    ]


def test_what_was_measured(busy: Measurements) -> None:
    assert busy.startup_cpu_ms >= 300 and busy.run_cpu_ms[0] >= 80
    assert busy.startup_peak_bytes - busy.baseline_bytes >= 60 << 20  # 64 MB held, roughly
    assert busy.peak_bytes >= busy.startup_peak_bytes


def test_generous_limits_pass(busy: Measurements) -> None:
    assert _findings(busy) == []


def test_more_memory_than_memory_gb_is_an_error(busy: Measurements) -> None:
    assert _findings(busy, memory_gb=0.05) == [("AML070", Severity.ERROR)]


def test_run_slower_than_the_timeout_at_the_cpu_quota_is_an_error(busy: Measurements) -> None:
    # 80 ms of CPU at 0.1 cores takes at least 800 ms.
    assert _findings(busy, cpu_cores=0.1, scoring_timeout_ms=500) == [("AML071", Severity.ERROR)]
    assert _findings(busy, cpu_cores=3.5, scoring_timeout_ms=500) == []


def test_start_up_longer_than_the_liveness_probe_allows_is_an_error(busy: Measurements) -> None:
    probe = {"initial_delay_seconds": 1, "period_seconds": 1, "failure_threshold": 1}
    assert ("AML072", Severity.ERROR) in _findings(busy, cpu_cores=0.1, **probe)  # >= 3 s
    assert _findings(busy, cpu_cores=3.5, **probe) == []
    assert _findings(busy, target="aci", cpu_cores=0.1) == []  # ACI has no such probe
