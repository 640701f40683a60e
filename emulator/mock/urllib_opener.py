"""The mock for ``urllib``: an opener installed for the mock's duration.

``responses`` only patches ``requests``, but the SDK's ``Webservice.run()`` and
``urllib.request.urlretrieve`` (the seed's model download) go through ``urllib.request.urlopen``,
which uses the installed opener. The mock's handler runs before the standard HTTP handlers and
answers the URLs it owns; it declines the others, which then go out as usual. Openers built by
the caller (``build_opener()``) and ``urlopen(..., context=...)`` bypass it.
"""

from __future__ import annotations

import io
import socket
import urllib.request
import urllib.response
from collections.abc import Callable, Iterable
from http.client import HTTPMessage
from typing import Any

from emulator.server.messages import HttpResponse

#: (method, url, headers, body, timeout) → the answer, or None to let the request go out.
Answer = Callable[[str, str, list[tuple[str, str]], bytes, "float | None"], "HttpResponse | None"]


class MockHandler(urllib.request.BaseHandler):
    handler_order = 100  # before HTTPHandler / HTTPSHandler (500)

    def __init__(self, answer: Answer) -> None:
        self._answer = answer

    def http_open(self, request: urllib.request.Request) -> urllib.response.addinfourl | None:
        timeout = getattr(request, "timeout", None)
        if timeout is socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
            timeout = None
        response = self._answer(
            request.get_method(),
            request.full_url,
            list(request.header_items()),
            _body(request.data),
            timeout,
        )
        if response is None:
            return None
        headers = HTTPMessage()
        for name, value in response.headers:
            headers[name] = value
        if not any(name.lower() == "content-length" for name, _ in response.headers):
            headers["Content-Length"] = str(len(response.body))
        answer = urllib.response.addinfourl(
            io.BytesIO(response.body), headers, request.full_url, response.status
        )
        answer.msg = answer.reason = response.reason_phrase  # type: ignore[attr-defined]
        return answer

    https_open = http_open


def _body(data: Any) -> bytes:
    if data is None:
        return b""
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    if hasattr(data, "read"):
        return bytes(data.read())
    if isinstance(data, Iterable):
        return b"".join(bytes(chunk) for chunk in data)
    raise TypeError(f"cannot send a request body of type {type(data).__name__}")


def installed_opener() -> urllib.request.OpenerDirector | None:
    """The opener ``urlopen`` uses now (None: the default one)."""
    opener: urllib.request.OpenerDirector | None = getattr(urllib.request, "_opener", None)
    return opener


def install(answer: Answer) -> None:
    urllib.request.install_opener(urllib.request.build_opener(MockHandler(answer)))


def restore(opener: urllib.request.OpenerDirector | None) -> None:
    urllib.request.install_opener(opener)
