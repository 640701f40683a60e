"""The request and response values that travel between the HTTP process and the workers.

Both are plain picklable records: the HTTP process parses bytes into an :class:`HttpRequest`,
a worker answers with an :class:`HttpResponse`, and neither side needs the other's machinery.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from werkzeug.http import HTTP_STATUS_CODES

JSON = "application/json"
HTML = "text/html; charset=utf-8"
INTERNAL_ERROR = "An unexpected internal error occurred. Check the logs for more info."


@dataclass(frozen=True)
class HttpRequest:
    """One parsed request; ``headers`` keep the client's names, order and repetitions."""

    method: str
    target: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    version: str = "1.1"
    client: tuple[str, int] = ("127.0.0.1", 0)
    server: tuple[str, int] = ("127.0.0.1", 0)
    #: (x-request-id as answered, x-ms-client-request-id): the HTTP process's ids, so a worker's
    #: Application Insights exception carries the request's id (never sent to run()).
    request_ids: tuple[str, str] = ("Unknown", "")

    def header(self, name: str) -> str | None:
        """A header's value, case-insensitively; repeated headers are joined with ``,``."""
        wanted = name.lower()
        values = [value for key, value in self.headers if key.lower() == wanted]
        return ",".join(values) if values else None


@dataclass
class HttpResponse:
    """A complete response; ``reason`` overrides the Werkzeug-style upper-case phrase."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    reason: str | None = None

    @property
    def reason_phrase(self) -> str:
        return self.reason or HTTP_STATUS_CODES.get(self.status, "Unknown").upper()


def json_response(status: int, value: object, *, run_failed: bool = False) -> HttpResponse:
    """``AMLResponse(value, status, json_str=True)``: the shape of every JSON answer."""
    body = json.dumps(value).encode()
    return HttpResponse(
        status,
        [
            ("Content-Type", JSON),
            ("Content-Length", str(len(body))),
            ("x-ms-run-function-failed", str(run_failed)),
        ],
        body,
    )


def error_response(status: int, message: str, *, run_failed: bool = False) -> HttpResponse:
    """The server's single error shape: ``{"message": "..."}``."""
    return json_response(status, {"message": message}, run_failed=run_failed)
