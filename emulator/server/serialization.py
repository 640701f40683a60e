"""Turning ``run()``'s return value into the response azmlinfsrv sends.

A Werkzeug/Flask response (``AMLResponse`` included) goes out as built, with
``x-ms-run-function-failed: True`` forced for statuses ≥ 500; one whose body is a generator
(Werkzeug's ``is_streamed``) is sent as the generator yields (:func:`response_head` here, the
body by the worker). Anything else is ``json.dumps``-ed with Python's default separators
(``None`` → ``{}``, a ``str`` → a quoted JSON string); a value json cannot encode (numpy arrays
and scalars, bytes, sets) raises, and the caller answers with the server's "unexpected internal
error" 500.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, TypeGuard

from emulator.server.messages import HttpResponse, json_response

if TYPE_CHECKING:
    from werkzeug.wrappers import Response

logger = logging.getLogger("azmlinfsrv")

_FAILED = "x-ms-run-function-failed"


def is_response(output: object) -> TypeGuard[Response]:
    """Whether ``output`` is a Werkzeug/Flask response. The worker does not import Werkzeug for
    scripts that never do: without it loaded, nothing ``run()`` returns can be one."""
    wrappers = sys.modules.get("werkzeug.wrappers")
    return wrappers is not None and isinstance(output, wrappers.Response)


def to_response(output: object) -> HttpResponse:
    """The response for ``run()``'s output (TypeError/ValueError if it is not serializable); a
    streamed one is read to its end here (callers that stream check :func:`is_streamed` first)."""
    if is_response(output):
        response = response_head(output)
        response.body = output.get_data()
        return response
    return json_response(200, {} if output is None else output)


def is_streamed(output: object) -> TypeGuard[Response]:
    """Whether ``run()`` returned a response whose body has no length yet (a generator)."""
    return is_response(output) and output.is_streamed


def response_head(output: Response) -> HttpResponse:
    """A Werkzeug response's status and headers, without its body."""
    logger.info("run() output is HTTP Response")
    headers = [(name, value) for name, value in output.headers.items()]
    if output.status_code >= 500:
        headers = _force_failed(headers)
    reason = output.status.partition(" ")[2] or None
    return HttpResponse(output.status_code, headers, b"", reason)


def _force_failed(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    if any(name.lower() == _FAILED for name, _ in headers):
        return [(n, "True" if n.lower() == _FAILED else v) for n, v in headers]
    return [*headers, (_FAILED, "True")]
