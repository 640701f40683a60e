"""Headers azmlinfsrv adds to the answers of its own routes (``/``, ``/score``, ``/swagger.json``).

Request ids: ``x-request-id`` is echoed (a new UUID4 when absent); ``x-ms-request-id`` is the
legacy client id, defaulting to ``x-ms-client-request-id`` or else the request id;
``x-ms-client-request-id`` is echoed when the client sent it or the legacy header. Any of them
longer than 100 characters is refused with 431. CORS (``AML_CORS_ORIGINS``) follows flask-cors
with methods GET and POST. Every answer's ``Date`` is gunicorn's (RFC 7231's IMF-fixdate).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from emulator.server.messages import HttpRequest, HttpResponse, error_response

HEADER_LIMIT = 100
_CORS_METHODS = ("GET", "POST")

logger = logging.getLogger("azmlinfsrv")

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(timestamp: float | None = None) -> str:
    """``Thu, 03 Dec 2026 18:01:37 GMT`` (now by default): what ``email.utils.formatdate(usegmt=
    True)`` writes, without the email package (half a MiB in every replica's HTTP process)."""
    t = time.gmtime(timestamp)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


@dataclass(frozen=True)
class RequestIds:
    """The ids of one request; ``rejection`` is the 431 answer when one is too long."""

    request_id: str = ""
    legacy_id: str = ""
    client_id: str = ""
    rejection: HttpResponse | None = None

    @classmethod
    def of(cls, request: HttpRequest) -> RequestIds:
        request_id = request.header("x-request-id")
        if request_id is None:
            request_id = str(uuid.uuid4())
        if len(request_id) > HEADER_LIMIT:
            message = f"x-request-id must not exceed {HEADER_LIMIT} characters"
            return cls(rejection=error_response(431, message))
        legacy = request.header("x-ms-request-id") or ""
        client = request.header("x-ms-client-request-id") or ""
        if legacy:
            logger.warning(
                "x-ms-request-id header has been deprecated and will be removed from future "
                "versions of the server. Please use x-ms-client-request-id."
            )
            client = client or legacy
        else:
            legacy = client or request_id
        if len(legacy) > HEADER_LIMIT or len(client) > HEADER_LIMIT:
            message = (
                f"x-ms-request-id and x-ms-client-request-id must not exceed {HEADER_LIMIT} "
                "characters"
            )
            return cls(request_id=request_id, rejection=error_response(431, message))
        return cls(request_id, legacy, client)

    def headers(self) -> list[tuple[str, str]]:
        pairs = (
            ("x-request-id", self.request_id),
            ("x-ms-request-id", self.legacy_id),
            ("x-ms-client-request-id", self.client_id),
        )
        return [(name, value) for name, value in pairs if value]


def cors_headers(origins: tuple[str, ...], request: HttpRequest) -> list[tuple[str, str]]:
    """flask-cors' answer for ``request`` with these allowed origins (empty: no CORS)."""
    if not origins:
        return []
    origin = request.header("Origin")
    if origin:
        wildcard = "*" in origins
        if not wildcard and origin.lower() not in {o.lower() for o in origins}:
            return []
        allowed = origin
    else:  # flask-cors' always_send: answer with the first allowed origin
        allowed = "*" if "*" in origins else sorted(origins)[0]
    headers = [("Access-Control-Allow-Origin", allowed)]
    requested = (request.header("Access-Control-Request-Method") or "").upper()
    if request.method == "OPTIONS" and requested in _CORS_METHODS:
        asked = request.header("Access-Control-Request-Headers")
        if asked:
            names = sorted(name.strip() for name in asked.split(","))
            headers.append(("Access-Control-Allow-Headers", ", ".join(names)))
        headers.append(("Access-Control-Allow-Methods", ", ".join(_CORS_METHODS)))
    headers.append(("Vary", "Origin"))
    return headers
