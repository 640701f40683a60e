"""The HTTP front of web services: Azure ML's router (AKS ``azureml-fe``) and an ACI endpoint.

A :class:`Gateway` listens on ``127.0.0.1`` (a free port) and proxies ``/score`` and
``/swagger.json`` to a service's replicas, enforcing what Azure enforces in front of the
container: key/token auth (:mod:`.auth`), at most ``replica_max_concurrent_requests`` in flight
per replica with a bounded wait (:mod:`.admission`, 503), ``scoring_timeout_ms`` (504),
load balancing (:mod:`.balancer`) and autoscaling (:mod:`.autoscaler`). It knows nothing about
how replicas are started: a service is given a *provider* returning :class:`Replica` records,
and the autoscaler asks a ``scale(n)`` callback for a different replica count.
"""

from emulator.services.auth import AccessToken, AuthMode, ServiceAuth, generate_key
from emulator.services.autoscaler import Autoscaler, ScaleEvent, desired_replicas
from emulator.services.gateway import Gateway, GatewayMode
from emulator.services.metrics import MetricsSnapshot
from emulator.services.replicas import Replica, ReplicaProvider
from emulator.services.route import ScaleCallback, ServiceRoute
from emulator.services.settings import ServiceSettings

__all__ = [
    "AccessToken",
    "AuthMode",
    "Autoscaler",
    "Gateway",
    "GatewayMode",
    "MetricsSnapshot",
    "Replica",
    "ReplicaProvider",
    "ScaleCallback",
    "ScaleEvent",
    "ServiceAuth",
    "ServiceRoute",
    "ServiceSettings",
    "desired_replicas",
    "generate_key",
]
