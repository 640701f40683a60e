"""Cross-site request protection for the portal's state-changing forms.

A double-submit token: the first page sets a random cookie, every form carries the same value
in a hidden field, and a POST must present both, equal. A cross-site page can neither read the
cookie nor set it, so it cannot forge the field. POSTs must also come from the portal itself
by ``Origin`` (or ``Referer``, when a browser sends no ``Origin``), and every request must
name the portal by a loopback host name.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

COOKIE = "amlemu_csrf"
FIELD = "csrf_token"
_LOCAL = ("127.0.0.1", "localhost")
HOST_MESSAGE = "The portal answers only to http://127.0.0.1:PORT/ or http://localhost:PORT/."


def local_host(request: Request) -> bool:
    """Whether the request names the portal by a loopback name: a foreign name resolving to
    127.0.0.1 (DNS rebinding) would otherwise make a hostile page same-origin with it."""
    return urlsplit(f"//{request.host}").hostname in _LOCAL


def token(request: Request) -> str:
    """The request's token: its cookie, or a new one (set by :func:`remember`)."""
    return request.cookies.get(COOKIE) or secrets.token_urlsafe(24)


def remember(response: Response, value: str) -> None:
    response.set_cookie(COOKIE, value, httponly=True, samesite="Strict", path="/")


def rejection(request: Request) -> str | None:
    """Why ``request`` (a POST) must be refused, or ``None`` when it is the portal's own."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or urlsplit(source).netloc != request.host:
        return "the request did not come from this portal (Origin/Referer missing or foreign)"
    cookie = request.cookies.get(COOKIE, "")
    field = request.form.get(FIELD, "")
    if not cookie or not hmac.compare_digest(cookie, field):
        return "the form's CSRF token is missing or stale: reload the page and submit again"
    return None
