"""Deployment limits, thresholds, CPU-quota estimates and the profile's recommendations."""

from __future__ import annotations

import pytest

from emulator.validation.checks import Severity
from emulator.validation.limits import Limits, LimitsError, estimated_ms, rate
from emulator.validation.profiling import recommend_cpu, recommend_memory_gb
from emulator.validation.resources import GIB, Measurements, percentile, resource_findings


def test_defaults_are_azures_per_target() -> None:
    assert Limits.from_config(None, None) == Limits("aci", 0.1, 0.5, 3_600_000, None)
    assert Limits.from_config("aks", {}) == Limits("aks", 0.1, 0.5, 60_000, 340.0)
    assert Limits.from_config("local", {"memory_gb": 4}) == Limits(
        "local", None, None, 3_600_000, None
    )


def test_sdk_keyword_names_and_az_ml_json_read_alike() -> None:
    sdk = {"cpu_cores": 1, "memory_gb": 2, "scoring_timeout_ms": 5000, "period_seconds": 5}
    rest = {
        "computeType": "AKS",
        "containerResourceRequirements": {"cpu": 1, "memoryInGB": 2},
        "scoringTimeoutMs": 5000,
        "livenessProbeRequirements": {"periodSeconds": 5},
    }
    expected = Limits("aks", 1.0, 2.0, 5000, 325.0)
    assert Limits.from_config("aks", sdk) == Limits.from_config(None, rest) == expected


def test_aks_limits_win_over_requests() -> None:
    limits = Limits.from_config("aks", {"cpu_cores": 0.5, "cpu_cores_limit": 2, "memory_gb": 1})
    assert (limits.cpu_cores, limits.memory_gb) == (2.0, 1.0)


@pytest.mark.parametrize(
    ("target", "config", "message"),
    [
        ("fpga", {}, "Unknown deployment target 'fpga'"),
        ("aci", {"memory_gb": -1}, "memory_gb must be a positive number, not -1"),
        ("aci", {"cpu_cores": "one"}, "cpu_cores must be a positive number"),
        ("aks", {"livenessProbeRequirements": 3}, "livenessProbeRequirements must be a mapping"),
    ],
)
def test_bad_configurations_name_the_key(target: str, config: dict, message: str) -> None:
    with pytest.raises(LimitsError, match=message):
        Limits.from_config(target, config)


def test_over_80_percent_is_a_warning_and_over_the_limit_an_error() -> None:
    assert rate(80, 100) is None
    assert rate(81, 100) is Severity.WARNING
    assert rate(101, 100) is Severity.ERROR
    assert rate(10**9, None) is None


def test_a_cpu_quota_stretches_cpu_bound_time_only() -> None:
    assert estimated_ms(wall_ms=50, cpu_ms=50, cpu_cores=0.1) == 500
    assert estimated_ms(wall_ms=300, cpu_ms=5, cpu_cores=0.1) == 300  # waiting on I/O
    assert estimated_ms(wall_ms=50, cpu_ms=50, cpu_cores=None) == 50


def test_percentiles_are_nearest_rank() -> None:
    values = list(range(1, 101))
    assert [percentile(values, p) for p in (0.5, 0.9, 0.99)] == [50, 90, 99]
    assert percentile([], 0.5) is None


def _measured(peak_mb: float, run_cpu_ms: float) -> Measurements:
    return Measurements(
        startup_wall_ms=100,
        startup_cpu_ms=100,
        startup_peak_bytes=int(peak_mb * 2**20),
        peak_bytes=int(peak_mb * 2**20),
        baseline_bytes=30 * 2**20,
        run_wall_ms=(run_cpu_ms,),
        run_cpu_ms=(run_cpu_ms,),
    )


def test_memory_between_80_and_100_percent_is_a_warning() -> None:
    limits = Limits("aci", 1.0, 0.5, 60_000, None)
    [warning] = resource_findings(_measured(450, 1), limits)
    assert (warning.check, warning.severity) == ("AML070", Severity.WARNING)
    assert "peak memory is 450 MB" in warning.message and "88% of memory_gb=0.5" in warning.message
    assert resource_findings(_measured(300, 1), limits) == []


def test_latency_near_the_timeout_is_a_warning() -> None:
    limits = Limits("aks", 0.5, 1.0, 1000, 340.0)
    [warning] = resource_findings(_measured(100, 450), limits)  # 900 ms at half a core
    assert (warning.check, warning.severity) == ("AML071", Severity.WARNING)


def test_recommendations() -> None:
    assert recommend_memory_gb(int(0.3 * GIB)) == 0.4  # 0.3 / 0.8 = 0.375, rounded up
    assert recommend_memory_gb(10 * 2**20) == 0.1
    assert recommend_cpu([1.0] * 10, [1.0] * 10) == 0.1  # 10 ms at 0.1 core is fine
    assert recommend_cpu([500.0] * 10, [500.0] * 10) == 0.5  # at most twice as slow
    assert recommend_cpu([], []) == 0.1
