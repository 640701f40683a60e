"""The mock for ``requests``, through ``responses``: one catch-all route plus passthrough.

A single registered response decides per request whether the mock owns the URL (the same
decision the ``urllib`` opener makes); everything else passes through to whatever ``send`` was
in place when the mock started, so an outer ``responses`` mock keeps working.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from http.client import RemoteDisconnected
from typing import Any

import requests
import responses
from urllib3.exceptions import ProtocolError

from emulator.mock.urllib_opener import Answer

Owns = Callable[[str], bool]


class _MockRoute(responses.CallbackResponse):
    def __init__(self, owns: Owns, answer: Answer) -> None:
        super().__init__("GET", re.compile(".*"), self._respond, content_type=None)
        self._owns = owns
        self._answer = answer

    def matches(self, request: Any) -> tuple[bool, str]:
        if self._owns(str(request.url)):
            return True, ""
        return False, "not an address the Azure mock answers"

    def _respond(self, request: Any) -> tuple[int, list[tuple[str, str]], bytes]:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        timeout = getattr(request, "req_kwargs", {}).get("timeout")
        if isinstance(timeout, tuple):  # (connect, read)
            timeout = timeout[1]
        try:
            response = self._answer(
                request.method, str(request.url), list(request.headers.items()), body, timeout
            )
        except TimeoutError as timed_out:
            raise requests.exceptions.ReadTimeout(str(timed_out), request=request) from None
        except RemoteDisconnected as dropped:  # what requests raises for a dropped connection
            aborted = ProtocolError("Connection aborted.", dropped)
            raise requests.exceptions.ConnectionError(aborted, request=request) from None
        assert response is not None, "the route only matches URLs the mock owns"
        return response.status, list(response.headers), response.body


def start(owns: Owns, answer: Answer) -> responses.RequestsMock:
    """Patch ``requests`` until :meth:`responses.RequestsMock.stop`."""
    current: Any = requests.adapters.HTTPAdapter.send  # maybe an outer mock's
    mock = responses.RequestsMock(assert_all_requests_are_fired=False, real_adapter_send=current)
    mock.add(_MockRoute(owns, answer))
    mock.add_passthru(re.compile(".*"))
    mock.start()
    return mock
