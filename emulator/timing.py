"""The emulator's clock for orchestration delays: Azure's durations multiplied by a time scale.

Azure (Kubernetes underneath) waits 10 s before the first restart of a crashed container,
doubling up to 5 minutes, and probes liveness every 10 s: a broken ``init()`` takes minutes to
be reported. The emulator keeps Azure's numbers in its settings (so they read as in the SDK)
and multiplies the orchestration delays by ``AZUREML_EMULATOR_TIME_SCALE`` (default 0.02: a
crash loop concludes in a few seconds). Durations that measure user code — probe timeouts,
the initial delay that protects a slow ``init()`` — are never scaled.
"""

from __future__ import annotations

import os

TIME_SCALE_ENV = "AZUREML_EMULATOR_TIME_SCALE"
DEFAULT_TIME_SCALE = 0.02


def time_scale() -> float:
    """``$AZUREML_EMULATOR_TIME_SCALE`` (a positive number), else :data:`DEFAULT_TIME_SCALE`."""
    raw = os.environ.get(TIME_SCALE_ENV, "").strip()
    if not raw:
        return DEFAULT_TIME_SCALE
    try:
        scale = float(raw)
    except ValueError:
        scale = 0.0
    if not scale > 0:
        raise ValueError(
            f"{TIME_SCALE_ENV}={raw!r} is not a positive number "
            f"(1 runs at Azure's speed; the default {DEFAULT_TIME_SCALE} is 50 times faster)."
        )
    return scale
