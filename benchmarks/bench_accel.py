"""The accelerated-models stand-in: ONNX Runtime vs scikit-learn, gRPC Predict, a ResNet-50 graph.

Usage: ``python benchmarks/bench_accel.py [--quick]``; prints one JSON document:

* ``sklearn_vs_onnxruntime``: per model, the same inputs scored by the scikit-learn original
  (``predict_proba``) and by its converted ONNX in ONNX Runtime, at batch 1 (median latency)
  and batch 1000 (latency and rows/s), with the ratios (> 1: ONNX Runtime is faster);
* ``grpc_predict``: ``PredictionClient.score_numpy_arrays`` at batch 1 against the gRPC server
  running in its own process (as a deployed service is), p50/p99, next to in-process ONNX
  Runtime on the same model: the overhead is the difference of the p50s; and a bare grpcio
  echo of the same size (``grpc_echo.py``), the floor of Python gRPC on this machine;
* ``resnet50``: a ResNet-50-shaped graph built by ``emulator.accel.resnet`` (random weights) at
  batch 1 and 16, on the CUDA provider when ONNX Runtime has one, else the CPU (``provider``).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from emulator.accel import tensors
from emulator.accel.converter import convert
from emulator.accel.resnet import resnet50
from emulator.accel.session import OnnxModel
from emulator.sdk.prediction_client import PredictionClient


def _times(call: Callable[[], object], repeat: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 4)


def _models() -> dict[str, Any]:
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    features, labels = make_classification(
        n_samples=2000, n_features=20, n_informative=10, n_classes=3, random_state=0
    )
    return {
        "logistic_regression_20f": LogisticRegression(max_iter=1000).fit(features, labels),
        "random_forest_100x8_20f": RandomForestClassifier(
            n_estimators=100, max_depth=8, random_state=0, n_jobs=1
        ).fit(features, labels),
    }


def sklearn_vs_onnxruntime(quick: bool) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    results: dict[str, Any] = {}
    for name, estimator in _models().items():
        model = OnnxModel.load(convert(estimator, "input").model, prefer_gpu=False)
        entry: dict[str, Any] = {}
        for batch, repeat in ((1, 100 if quick else 500), (1000, 10 if quick else 40)):
            x = rng.standard_normal((batch, 20)).astype(np.float32)
            sk = statistics.median(_times(lambda e=estimator, x=x: e.predict_proba(x), repeat, 5))
            ort = statistics.median(
                _times(lambda m=model, x=x: m.session.run(None, {"input": x}), repeat, 5)
            )
            entry[f"batch_{batch}"] = {
                "sklearn_ms": _ms(sk),
                "onnxruntime_ms": _ms(ort),
                "sklearn_rows_per_s": round(batch / sk),
                "onnxruntime_rows_per_s": round(batch / ort),
                "latency_ratio_sklearn_over_onnxruntime": round(sk / ort, 2),
                "throughput_ratio_onnxruntime_over_sklearn": round(sk / ort, 2),
            }
        results[name] = entry
    return results


def grpc_predict(quick: bool) -> dict[str, Any]:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    features, labels = load_iris(return_X_y=True)
    converted = convert(LogisticRegression(max_iter=500).fit(features, labels), "images")
    x = features[:1].astype(np.float32)
    repeat = 500 if quick else 3000
    with tempfile.TemporaryDirectory(prefix="amlemu-bench-accel-") as tmp:
        path = converted.save(Path(tmp) / "iris.onnx")
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "emulator.accel",
                f"iris={path}",
                "--token",
                "k",
                "--threads",
                "1",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            port = int(line.rsplit(":", 1)[1])
            client = PredictionClient("127.0.0.1", port, access_token="k", service_name="iris")
            remote = _times(lambda: client.score_numpy_arrays({"images": x}), repeat, 200)
        finally:
            server.terminate()
            server.wait(10)
    request_bytes = len(tensors.from_numpy(x).SerializeToString()) + 64
    floor = _bare_grpc(request_bytes, repeat)
    local_model = OnnxModel.load(converted.model, prefer_gpu=False, threads=1)
    local = _times(lambda: local_model.session.run(None, {"images": x}), repeat, 200)
    p50, local_p50 = float(np.percentile(remote, 50)), float(np.percentile(local, 50))
    return {
        "model": "iris logistic regression (label + probabilities outputs)",
        "batch": 1,
        "requests": repeat,
        "server": "separate process, 127.0.0.1, auth on, routed by service header",
        "grpc_p50_ms": _ms(p50),
        "grpc_p99_ms": _ms(float(np.percentile(remote, 99))),
        "in_process_onnxruntime_p50_ms": _ms(local_p50),
        "in_process_onnxruntime_p99_ms": _ms(float(np.percentile(local, 99))),
        "grpc_overhead_p50_ms": _ms(p50 - local_p50),
        "bare_grpc_echo_p50_ms": _ms(floor),
        "overhead_over_bare_grpc_p50_ms": _ms(p50 - floor),
        "target_p50_under_1ms": p50 < 0.001,
    }


def _bare_grpc(request_bytes: int, repeat: int) -> float:
    """p50 of a bare grpcio echo (``grpc_echo.py``, its own process) of ``request_bytes``."""
    import grpc
    from grpc_echo import METHOD, SERVICE

    echo = Path(__file__).with_name("grpc_echo.py")
    server = subprocess.Popen([sys.executable, str(echo)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary(f"/{SERVICE}/{METHOD}")
            payload = b"x" * request_bytes
            metadata = (("authorization", "Bearer k"), ("x-ms-aml-grpc-service-route", "/x"))
            return float(
                np.percentile(_times(lambda: call(payload, metadata=metadata), repeat, 200), 50)
            )
    finally:
        server.terminate()
        server.wait(10)


def resnet(quick: bool) -> dict[str, Any]:
    built = time.perf_counter()
    graph = resnet50(classes=1000)
    build_s = time.perf_counter() - built
    model = OnnxModel.load(graph)
    result: dict[str, Any] = {
        "parameters_millions": round(
            sum(int(np.prod(i.dims)) for i in graph.graph.initializer) / 1e6, 2
        ),
        "build_s": round(build_s, 2),
        "provider": model.provider,
    }
    rng = np.random.default_rng(0)
    for batch, repeat in ((1, 5 if quick else 20), (16, 2 if quick else 5)):
        x = rng.random((batch, 224, 224, 3), dtype=np.float32)
        times = _times(lambda x=x: model.session.run(None, {"InputImage": x}), repeat, 2)
        median = statistics.median(times)
        result[f"batch_{batch}"] = {
            "median_ms": _ms(median),
            "min_ms": _ms(min(times)),
            "images_per_s": round(batch / median, 1),
        }
    return result


def main(quick: bool = False) -> dict[str, Any]:
    import onnxruntime

    return {
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "onnxruntime": onnxruntime.__version__,
            "providers": onnxruntime.get_available_providers(),
        },
        "sklearn_vs_onnxruntime": sklearn_vs_onnxruntime(quick),
        "grpc_predict": grpc_predict(quick),
        "resnet50": resnet(quick),
    }


if __name__ == "__main__":
    print(json.dumps(main("--quick" in sys.argv[1:]), indent=2))
