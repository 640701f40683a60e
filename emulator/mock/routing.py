"""Azure scoring URLs answered in-process by the gateway that serves the service.

The request is handed to the gateway's own handler on its event loop (``Gateway.__call__``, so
path routing, auth, admission, 503/504 and 404 answers are the HTTP endpoints' own); only the
gateway's hop to the replica, a real process, uses a socket.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterable
from http.client import RemoteDisconnected
from urllib.parse import urlsplit

from emulator.server.messages import HttpRequest, HttpResponse
from emulator.services import uris
from emulator.services.gateway import Gateway
from emulator.services.hosting import HOST


def find_gateway(url: str) -> Gateway | None:
    """The live gateway (in this process) behind the Azure-shaped scoring ``url``."""
    kind = uris.azure_kind(url)
    host = (urlsplit(url).hostname or "").lower()
    for deployment in HOST.deployments():
        gateway = deployment.gateway
        try:
            netloc = urlsplit(gateway.url).netloc
        except RuntimeError:  # stopped meanwhile
            continue
        if kind == "aci" and gateway.mode == "aci":
            if gateway.tls is not None and gateway.tls.cname.lower() == host:
                return gateway  # an SSL service, by its cname
            if host.split(".", 1)[0] == uris.aci_label(deployment.name, netloc):
                return gateway
        elif kind == "aks" and gateway.mode == "aks" and host == uris.aks_ip(netloc):
            return gateway
    return None


def live_service_names() -> list[str]:
    return sorted({deployment.name for deployment in HOST.deployments()})


def call_gateway(
    gateway: Gateway,
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    timeout: float | None,
) -> HttpResponse | None:
    """``gateway``'s answer to the request (None when it routes no service any more).
    Raises ``TimeoutError`` when no answer comes within ``timeout`` seconds, and
    ``RemoteDisconnected`` (what ``http.client`` raises) when the gateway drops the request
    unanswered, as an injected fault does."""
    routes = list(gateway.services.values())
    if not routes:
        return None
    parts = urlsplit(url)
    path = parts.path or "/"
    target = f"{path}?{parts.query}" if parts.query else path
    request = HttpRequest(method.upper(), target, path, parts.query, tuple(headers), body)
    try:
        answer = routes[0].call(gateway(request), timeout)
    except (TimeoutError, concurrent.futures.TimeoutError):  # distinct before 3.11
        raise TimeoutError(f"no answer from {url} within {timeout} s") from None
    if answer is None:
        raise RemoteDisconnected("Remote end closed connection without response")
    return answer
