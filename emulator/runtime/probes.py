"""HTTP probes of a replica's scoring server (``GET http://127.0.0.1:<port>/``), Kubernetes style.

:class:`ProbeSettings` holds the AKS ``livenessProbeRequirements`` with the SDK's documented
defaults (period 10 s, initial delay 310 s, timeout 2 s, success 1, failure 3); the container
scales the period (see :mod:`emulator.timing`). :class:`ProbeCounter` applies the
thresholds: results count only while consecutive, as in Kubernetes. A custom container (an SDK
v2 environment's ``inference_config``) is probed where its image says: :class:`ImageRoutes`.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass

from emulator.runtime.ports import HOST


@dataclass(frozen=True)
class ProbeSettings:
    """One probe, in Azure's terms and units (``AksWebservice.deploy_configuration``)."""

    period_seconds: float = 10.0
    initial_delay_seconds: float = 310.0
    timeout_seconds: float = 2.0
    success_threshold: int = 1
    failure_threshold: int = 3

    def __post_init__(self) -> None:
        for name in ("period_seconds", "timeout_seconds", "success_threshold", "failure_threshold"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be greater than zero.")
        if self.initial_delay_seconds < 0:
            raise ValueError("initial_delay_seconds must not be negative.")


@dataclass(frozen=True)
class HttpRoute:
    """One route of a custom container: ``http://127.0.0.1:<port><path>``."""

    port: int
    path: str


@dataclass(frozen=True)
class ImageRoutes:
    """A custom container's own routes (an SDK v2 environment's ``inference_config``): its
    image listens on their ports itself (fixed, not reserved by the emulator), the probes ask
    the liveness and readiness routes, the gateway sends scoring requests to ``scoring``."""

    scoring: HttpRoute
    liveness: HttpRoute
    readiness: HttpRoute

    @property
    def ports(self) -> tuple[int, ...]:
        """The distinct ports the image listens on."""
        return tuple(sorted({self.scoring.port, self.liveness.port, self.readiness.port}))


@dataclass(frozen=True)
class ProbeResult:
    """One probe's outcome; ``detail`` says why it failed, for the status and the log."""

    ok: bool
    detail: str


def http_probe(port: int, timeout: float, path: str = "/") -> ProbeResult:
    """``GET path``: success is a 2xx/3xx answer within ``timeout`` seconds (Kubernetes' rule)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"User-Agent": "kube-probe/1.27"})
        response = connection.getresponse()
        response.read()
    except ConnectionRefusedError:
        return ProbeResult(False, "connection refused")
    except TimeoutError:
        return ProbeResult(False, f"no answer within {timeout:g} s")
    except (OSError, http.client.HTTPException) as exc:
        return ProbeResult(False, f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()
    if 200 <= response.status < 400:
        return ProbeResult(True, f"HTTP {response.status}")
    return ProbeResult(False, f"HTTP {response.status}")


class ProbeCounter:
    """Consecutive successes and failures of one probe, against its thresholds."""

    def __init__(self, settings: ProbeSettings) -> None:
        self.settings = settings
        self.successes = 0
        self.failures = 0
        self.last: ProbeResult | None = None

    def observe(self, result: ProbeResult) -> None:
        self.last = result
        if result.ok:
            self.successes += 1
            self.failures = 0
        else:
            self.failures += 1
            self.successes = 0

    @property
    def passed(self) -> bool:
        """``success_threshold`` consecutive successes."""
        return self.successes >= self.settings.success_threshold

    @property
    def failed(self) -> bool:
        """``failure_threshold`` consecutive failures."""
        return self.failures >= self.settings.failure_threshold
