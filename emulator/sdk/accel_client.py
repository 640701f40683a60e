"""``azureml.accel.client``: ``PredictionClient``, loaded on first use (it needs grpcio).

Importing this module needs no optional dependency (image builds import every shimmed
module); the names resolve to ``emulator.sdk.prediction_client`` when they are first read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulator.sdk.prediction_client import PredictionClient, client_from_service

__all__ = ["PredictionClient", "client_from_service"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from emulator.sdk import accel

        return getattr(accel, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
