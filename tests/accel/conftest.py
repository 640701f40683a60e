"""Fixtures for the accelerated-models tests: a fitted iris model and gRPC servers on port 0."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulator.accel.serving import PredictionServer


@pytest.fixture(scope="session")
def iris_estimator() -> Any:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    features, labels = load_iris(return_X_y=True)
    return LogisticRegression(max_iter=500).fit(features, labels)


@pytest.fixture
def grpc_server() -> Iterator[PredictionServer]:
    """A started PredictionServer (127.0.0.1, a free port), stopped after the test."""
    server = PredictionServer(max_workers=4)
    server.start()
    yield server
    server.stop()
