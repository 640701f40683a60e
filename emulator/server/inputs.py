"""What ``run()`` receives for a request, per calling convention (azmlinfsrv's input parsers).

* undecorated: the body decoded as UTF-8 text (POST) or the query string as a JSON object
  text (GET); the body is never parsed;
* ``@input_schema``: a JSON object body (or the query) split into one keyword per parameter;
* ``@rawhttp``: the request itself, for any method that reaches ``/score``.
"""

from __future__ import annotations

import inspect
import io
import json
from typing import Any
from urllib.parse import parse_qsl

from emulator.server.messages import HttpRequest
from emulator.server.user_script import UserScript


class InputError(Exception):
    """The request cannot be turned into ``run()`` arguments; ``status`` says how to answer."""

    status = 400


class UnsupportedInput(InputError):
    status = 415


class UnsupportedMethod(InputError):
    status = 405


def run_arguments(script: UserScript, request: HttpRequest) -> dict[str, Any]:
    """Keyword arguments for ``run()``, or an :class:`InputError`."""
    if script.mode == "raw":
        return {script.parameters[0].name: raw_request(request)}
    if request.method == "GET":
        query = query_object(request.query)
        if script.mode == "json":
            return {script.parameters[0].name: json.dumps(query)}
        return _extract(script.parameters, query)
    if request.method != "POST":
        raise UnsupportedMethod("Method not allowed")
    if script.mode == "json":
        try:
            return {script.parameters[0].name: str(request.body, "utf-8")}
        except UnicodeDecodeError as exc:
            raise InputError(f"Input cannot be decoded as UTF-8: {exc}") from None
    if not _is_json(request.header("Content-Type")):
        raise UnsupportedInput("Expects Content-Type to be application/json")
    try:
        body = json.loads(request.body)
    except json.JSONDecodeError as exc:
        if request.body:
            raise InputError(f"POST body could not be decoded as JSON: {exc}") from None
        raise InputError("POST body is empty. Expecting a JSON dictionary.") from None
    if not isinstance(body, dict):
        raise InputError("POST body should be a JSON dictionary.")
    return _extract(script.parameters, body)


def query_object(query: str) -> dict[str, Any]:
    """``?a=1&b=[1,2]&c=x&c=y`` → ``{"a": 1, "b": [1, 2], "c": ["x", "y"]}``."""
    grouped: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        grouped.setdefault(key, []).append(value)
    return {
        key: _json_or_text(values[0]) if len(values) == 1 else [_json_or_text(v) for v in values]
        for key, values in grouped.items()
    }


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _extract(parameters: tuple[inspect.Parameter, ...], body: dict[str, Any]) -> dict[str, Any]:
    arguments = {}
    for parameter in parameters:
        value = body.get(parameter.name, parameter.default)
        if value is inspect.Parameter.empty:
            raise InputError(f"A value is not provided for the {parameter.name!r} parameter.")
        arguments[parameter.name] = value
    return arguments


def _is_json(content_type: str | None) -> bool:
    """Werkzeug's ``is_json``: ``application/json`` or ``application/*+json``."""
    mimetype = (content_type or "").split(";", 1)[0].strip().lower()
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def request_headers(request: HttpRequest) -> dict[str, str]:
    """The ``request_headers`` argument: WSGI-style names (``X-Ms-Client-Request-Id``)."""
    merged: dict[str, str] = {}
    for name, value in request.headers:
        key = name.replace("_", "-").title()
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    return merged


def raw_request(request: HttpRequest) -> Any:
    """The object ``@rawhttp`` run() gets: a request behind a proxy, as Flask's ``request``."""
    from werkzeug.local import LocalProxy

    from emulator.server.contrib.aml_request import AMLRequest

    wrapped = AMLRequest(wsgi_environ(request))
    return LocalProxy(lambda: wrapped)


def wsgi_environ(request: HttpRequest) -> dict[str, Any]:
    """A WSGI environ for ``request`` (what gunicorn would have handed Flask)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": request.path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": request.query,
        "RAW_URI": request.target,
        "SERVER_NAME": request.server[0],
        "SERVER_PORT": str(request.server[1]),
        "SERVER_PROTOCOL": f"HTTP/{request.version}",
        "REMOTE_ADDR": request.client[0],
        "REMOTE_PORT": str(request.client[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.input_terminated": True,
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in request.headers:
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = f"HTTP_{key}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ
