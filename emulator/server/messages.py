"""The request and response values that travel between the HTTP process and the workers.

Both are plain picklable records: the HTTP process parses bytes into an :class:`HttpRequest`,
a worker answers with an :class:`HttpResponse`, and neither side needs the other's machinery.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

JSON = "application/json"
HTML = "text/html; charset=utf-8"
INTERNAL_ERROR = "An unexpected internal error occurred. Check the logs for more info."
#: Werkzeug's reason phrases (``werkzeug.http.HTTP_STATUS_CODES``, 3.1), as Flask answers with them
#: upper-cased; copied so that the HTTP process does not import Werkzeug (tests/server compare).
STATUS_PHRASES: dict[int, str] = {
    100: "Continue",
    101: "Switching Protocols",
    102: "Processing",
    103: "Early Hints",
    200: "OK",
    201: "Created",
    202: "Accepted",
    203: "Non Authoritative Information",
    204: "No Content",
    205: "Reset Content",
    206: "Partial Content",
    207: "Multi Status",
    208: "Already Reported",
    226: "IM Used",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    305: "Use Proxy",
    306: "Switch Proxy",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    409: "Conflict",
    410: "Gone",
    411: "Length Required",
    412: "Precondition Failed",
    413: "Request Entity Too Large",
    414: "Request URI Too Long",
    415: "Unsupported Media Type",
    416: "Requested Range Not Satisfiable",
    417: "Expectation Failed",
    418: "I'm a teapot",
    421: "Misdirected Request",
    422: "Unprocessable Entity",
    423: "Locked",
    424: "Failed Dependency",
    425: "Too Early",
    426: "Upgrade Required",
    428: "Precondition Required",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    449: "Retry With",
    451: "Unavailable For Legal Reasons",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
    506: "Variant Also Negotiates",
    507: "Insufficient Storage",
    508: "Loop Detected",
    510: "Not Extended",
    511: "Network Authentication Failed",
}


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
        return self.reason or STATUS_PHRASES.get(self.status, "Unknown").upper()


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
