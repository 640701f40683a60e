"""The gRPC metadata an Azure accelerated service is called with: routing and authorization.

Azure's AKS gateway picks the service from ``x-ms-aml-grpc-service-route:
/api/v1/service/<name>`` and, when the service has auth on, wants ``authorization: Bearer
<key or token>``. ``PredictionClient`` always sends both (an empty token when it has none).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Mapping

ROUTE_HEADER = "x-ms-aml-grpc-service-route"
AUTH_HEADER = "authorization"
ROUTE_PREFIX = "/api/v1/service/"

#: Gets the bearer token sent (None when there was none) and says whether it is accepted.
AuthCheck = Callable[[str | None], bool]


def route_for(service_name: str) -> str:
    """The route header value for a service."""
    return f"{ROUTE_PREFIX}{service_name}"


def service_from_route(route: str) -> str | None:
    """``/api/v1/service/<name>`` (also with ``/score`` or a trailing slash) → ``<name>``."""
    if not route.startswith(ROUTE_PREFIX):
        return None
    name = route[len(ROUTE_PREFIX) :].strip("/")
    name = name.removesuffix("/score")
    return name or None


def bearer_token(authorization: str | None) -> str | None:
    """The token of ``Bearer <token>`` (None when absent or another scheme)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_auth(tokens: Iterable[str]) -> AuthCheck:
    """An ``AuthCheck`` accepting any of ``tokens`` (e.g. a service's primary and secondary
    keys); compared in constant time."""
    accepted = [t.encode() for t in tokens if t]

    def check(token: str | None) -> bool:
        if token is None:
            return False
        given = token.encode()
        return any(hmac.compare_digest(given, t) for t in accepted)

    return check


def metadata_dict(metadata: Iterable[tuple[str, str | bytes]] | None) -> Mapping[str, str]:
    """gRPC invocation metadata as a dict (keys are lower case on the wire already)."""
    result: dict[str, str] = {}
    for key, value in metadata or ():
        if isinstance(value, bytes):
            continue
        result.setdefault(key.lower(), value)
    return result
