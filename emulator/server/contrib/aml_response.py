"""``AMLResponse``: a scoring script chooses the status, headers and body itself.

Behaves like azureml-contrib-services' class: ``json_str=True`` JSON-encodes the message,
otherwise the body is sent raw (``text/html; charset=utf-8`` unless the headers name a
``Content-Type``); ``None`` becomes ``{}``; every header value is split on commas into repeated
headers; ``x-ms-run-function-failed`` is always set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Response

__all__ = ["AMLResponse"]

_CONTENT_TYPE = "Content-Type"


class AMLResponse(Response):
    """An HTTP response returned from ``run()``, sent to the client as it is."""

    default_mimetype = "text/html"  # Flask's default, which the real class inherits

    def __init__(
        self,
        message: Any,
        status_code: int,
        response_headers: Mapping[str, str] | None = None,
        json_str: bool = False,
        run_function_failed: bool = False,
    ) -> None:
        headers = dict(response_headers or {})
        if message is None:
            super().__init__(json.dumps({}), status=status_code, mimetype="application/json")
        elif json_str:
            super().__init__(json.dumps(message), status=status_code, mimetype="application/json")
        else:
            super().__init__(message, status=status_code)
            if _CONTENT_TYPE in headers:  # case-sensitive, as in azureml-contrib-services
                self.headers.remove(_CONTENT_TYPE)
        self.headers["x-ms-run-function-failed"] = str(run_function_failed)
        for name, value in headers.items():
            for part in value.split(","):
                self.headers.add_header(name, part.strip())
