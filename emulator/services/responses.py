"""The answers the front end itself gives (not the container): auth, overload, timeout, routing.

Azure's router answers in plain text. Texts quoted in the research (``anchors.md`` rows 9
and 15) are kept exactly: ``Too many requests for service <name> (overloaded)`` (503),
``Unauthorized, no Auth Header`` (401) and the phrase ``No ready replicas`` (503). The others
are the emulator's own wording, in the same style, because no recorded text exists: the 401
for a wrong key, a malformed header or an expired/invalid token, the 504 for
``scoring_timeout_ms``, the 502 when a replica drops the connection, and the 404 for an unknown
service. v1 AKS answers overload with 503, never 429 (429 belongs to v2 managed endpoints).

Each answer carries ``x-ms-request-id`` and most an ``x-amlemu-hint`` header with the setting to
change; bodies stay Azure's text so code matching on them behaves as in Azure.
"""

from __future__ import annotations

import uuid
from http import HTTPStatus

from emulator.server.messages import HttpRequest, HttpResponse

TEXT = "text/plain; charset=utf-8"
HINT_HEADER = "x-amlemu-hint"

NO_AUTH_HEADER = "Unauthorized, no Auth Header"
INVALID_AUTH_HEADER = "Unauthorized, invalid Auth Header (expected 'Bearer <key or token>')"
INVALID_KEY = "Unauthorized, invalid key"
INVALID_TOKEN = "Unauthorized, invalid token"
EXPIRED_TOKEN = "Unauthorized, token expired"


def overloaded_message(service: str) -> str:
    return f"Too many requests for service {service} (overloaded)"


def no_ready_replicas_message(service: str) -> str:
    return f"No ready replicas for service {service}"


def timeout_message(service: str, timeout_ms: int) -> str:
    return f"Request timed out for service {service} after {timeout_ms} ms (scoring_timeout_ms)"


def front_response(status: int, text: str, hint: str | None = None) -> HttpResponse:
    """A plain-text front-end answer (:func:`ensure_request_id` adds the request id)."""
    body = text.encode()
    headers = [("Content-Type", TEXT), ("Content-Length", str(len(body)))]
    if hint:
        headers.append((HINT_HEADER, hint))
    return HttpResponse(status, headers, body, HTTPStatus(status).phrase)


def ensure_request_id(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Add ``x-ms-request-id`` when the answer has none: the client's ``x-ms-request-id`` or
    ``x-ms-client-request-id`` if it sent one, else a new UUID."""
    if not any(name.lower() == "x-ms-request-id" for name, _ in response.headers):
        value = request.header("x-ms-request-id") or request.header("x-ms-client-request-id")
        response.headers.append(("x-ms-request-id", value or str(uuid.uuid4())))
    return response


def overloaded(service: str, limit: int | None, wait_ms: int) -> HttpResponse:
    return front_response(
        503,
        overloaded_message(service),
        f"every replica already has replica_max_concurrent_requests={limit} in flight and none "
        f"freed within max_request_wait_time={wait_ms} ms: raise them or add replicas",
    )


def no_ready_replicas(service: str) -> HttpResponse:
    return front_response(
        503,
        no_ready_replicas_message(service),
        "no replica passed its readiness probe: see the service's get_logs()",
    )


def scoring_timeout(service: str, timeout_ms: int) -> HttpResponse:
    return front_response(
        504,
        timeout_message(service, timeout_ms),
        f"run() took longer than scoring_timeout_ms={timeout_ms}: raise it (max 300000)",
    )


def unauthorized(text: str) -> HttpResponse:
    return front_response(
        401, text, "send 'Authorization: Bearer <key>' (service.get_keys()) or a get_token() token"
    )


def replica_failed(service: str) -> HttpResponse:
    return front_response(
        502,
        f"Replica of service {service} closed the connection without answering",
        "the replica crashed or was stopped mid-request: see the service's get_logs()",
    )


def service_not_found(service: str) -> HttpResponse:
    return front_response(404, f"Service {service} not found")


def path_not_found(path: str) -> HttpResponse:
    return front_response(
        404,
        f"Path {path} not found",
        "scoring URIs look like /api/v1/service/<name>/score (AKS) or /score (ACI)",
    )
