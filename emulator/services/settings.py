"""A service's front-end settings, under the names ``AksWebservice.deploy_configuration`` uses.

Defaults are the service-side defaults Azure documents for AKS: one request in flight per
replica, 500 ms of queueing before 503, a 60 s scoring timeout (504), autoscaling between 1 and
10 replicas at 70 % utilization re-evaluated every second. ACI has no router: use
:meth:`ServiceSettings.aci` (no concurrency gate and no front-end timeout; the container's own
queue and ``SCORING_TIMEOUT_MS`` apply).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSettings:
    #: Requests in flight per replica; ``None`` = unlimited (no gate, no 503 from the front).
    replica_max_concurrent_requests: int | None = 1
    #: Milliseconds a request may wait for a free replica slot before 503.
    max_request_wait_time: int = 500
    #: Milliseconds the front waits for a replica's answer before 504; ``None`` = forever.
    scoring_timeout_ms: int | None = 60000
    autoscale_enabled: bool = False
    autoscale_min_replicas: int = 1
    autoscale_max_replicas: int = 10
    #: Seconds between autoscaler evaluations (a float, so tests can use fractions).
    autoscale_refresh_seconds: float = 1.0
    #: Target utilization in percent of the concurrency capacity.
    autoscale_target_utilization: float = 70.0

    @classmethod
    def aci(cls) -> ServiceSettings:
        """An ACI container group: requests go straight to the container."""
        return cls(replica_max_concurrent_requests=None, scoring_timeout_ms=None)
