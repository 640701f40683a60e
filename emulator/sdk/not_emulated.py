"""``@not_emulated(reason)``: a member of the SDK that needs the cloud, declared as such.

Some public members of ``azureml-core`` only make sense against Azure (training runs, key
vaults, private endpoints, connections to other services). Deployment code that touches them
must fail at once with the SDK's own error type and a one-line reason, never with an
``AttributeError`` or a silent placeholder. The decorator keeps the SDK's signature (so a call
that binds on Azure binds here, and ``scripts/api_diff.py`` compares it) and records the reason
on the function (``__not_emulated__``), which the API diff lists as "not emulated: <reason>"
instead of counting the member as present.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from emulator.sdk.exceptions import UserErrorException

F = TypeVar("F", bound=Callable[..., Any])

#: The attribute that carries the reason (read by scripts/api_diff.py).
MARKER = "__not_emulated__"


def not_emulated(
    reason: str, error: type[Exception] = UserErrorException
) -> Callable[[Callable[..., Any]], Callable[..., NoReturn]]:
    """Replace the member's body with ``error("<member> is not emulated: <reason>")``."""

    def decorate(function: Callable[..., Any]) -> Callable[..., NoReturn]:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def refuse(*args: Any, **kwargs: Any) -> NoReturn:
            signature.bind(*args, **kwargs)  # a call the SDK would refuse is a TypeError first
            raise error(f"{function.__qualname__} is not emulated: {reason}")

        setattr(refuse, MARKER, reason)
        return refuse

    return decorate
