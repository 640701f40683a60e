"""The ``@rawhttp`` flag: whether the entry script asked for the raw HTTP request.

As in Azure, ``@rawhttp`` only flips a process-wide flag and returns the function unchanged; the
worker reads the flag after importing the entry script and then calls ``run(request)`` with the
request object instead of the body text. The flag lives apart from ``AMLRequest`` (a Werkzeug
request) so that a worker whose script never asks for it does not import Werkzeug.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

_F = TypeVar("_F", bound=Callable[..., object])

_raw_http_requested = False


def rawhttp(func: _F) -> _F:
    """Request raw HTTP access for ``run()`` (any decorated function turns it on)."""
    global _raw_http_requested
    _raw_http_requested = True
    return func


def raw_http_requested() -> bool:
    """True once any function was decorated with :func:`rawhttp` in this process."""
    return _raw_http_requested
