"""``rawhttp`` and ``AMLRequest``: a scoring script asks for the raw HTTP request.

``@rawhttp`` flips the worker's flag (:mod:`emulator.server.raw_http`); ``run(request)`` then
receives an :class:`AMLRequest`.
"""

from __future__ import annotations

from werkzeug.wrappers import Request

from emulator.server.raw_http import rawhttp

__all__ = ["AMLRequest", "rawhttp"]


class AMLRequest(Request):
    """The request ``run()`` receives under ``@rawhttp`` (a Werkzeug request, like Flask's)."""
