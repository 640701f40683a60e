"""The quick benchmarks still run and print the JSON their docs describe (no timing asserted:
speeds are the benchmarks' business, not the tests')."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from assets import REPO

pytestmark = pytest.mark.slow


def _run(script: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_accelerated_models_benchmark_reports_grpc_next_to_bare_grpc() -> None:
    report = _run("bench_accel.py", "--quick")
    grpc = report["grpc_predict"]
    assert grpc["requests"] == 500
    assert 0 < grpc["in_process_onnxruntime_p50_ms"] < grpc["grpc_p50_ms"]
    assert grpc["bare_grpc_echo_p50_ms"] > 0
    assert set(report["resnet50"]) >= {"provider", "batch_1", "batch_16"}
    ratios = report["sklearn_vs_onnxruntime"]["logistic_regression_20f"]["batch_1"]
    assert ratios["sklearn_ms"] > 0 and ratios["onnxruntime_ms"] > 0


def test_memory_benchmark_reports_pss_per_service_of_every_replica_process() -> None:
    report = _run("bench_memory.py", "--services", "2")
    (round_,) = report["rounds"]
    assert round_["services"] == 2 and round_["processes_per_service"]["min"] >= 2
    pss, rss = round_["pss_per_service_mib"], round_["rss_per_service_mib"]
    assert 0 < pss["min"] <= pss["median"] <= pss["max"] <= rss["max"]
    assert round_["pss_all_services_mib"] >= 2 * pss["min"]


def test_gateway_benchmark_compares_direct_and_gateway_traffic() -> None:
    report = _run("bench_gateway.py", "--seconds", "1", "--concurrency", "2")
    for path in ("direct", "gateway"):
        assert report[path]["requests"] > 0 and report[path]["errors"] == 0
    assert report["throughput_ratio"] > 0


def test_client_tls_benchmark_measures_new_connections_with_the_trust_file_and_directory() -> None:
    report = _run("bench_client_tls.py", "--requests", "3")
    assert report["trust"]["certificates"] > 1 and report["trust"]["file_bytes"] > 0
    for form in ("file", "directory"):
        assert report["load_verify_ms"][form] > 0
        assert report["new_connection"][form]["median_ms"] > 0
    assert report["kept_alive"]["median_ms"] > 0
