"""Kubernetes resource quantities ("100m", "2", "1.5Gi") and the rules a pod's requests and
limits obey, with Kubernetes' own messages.

Instance types of a Kubernetes compute and the ``resources`` of a Kubernetes online deployment
are both Kubernetes resource requirements: every value must be a quantity, and a request may
not exceed the limit of the same resource (the API server refuses such a pod).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from emulator.exceptions import BadArgument

#: Kubernetes' grammar (apimachinery's resource.Quantity), as its error message quotes it.
_GRAMMAR = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
_QUANTITY = re.compile(r"(?P<number>[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))(?P<suffix>[a-zA-Z]*)")
_EXPONENT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+")
_SUFFIXES = {
    "": 1.0,
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
    "Ei": 2.0**60,
}


def parse_quantity(text: object) -> float | None:
    """The value of a Kubernetes quantity (cores for CPU, bytes for memory), or None when
    ``text`` is not one."""
    value = str(text).strip() if isinstance(text, (str, int, float)) else ""
    if _EXPONENT.fullmatch(value):
        return float(value)
    found = _QUANTITY.fullmatch(value)
    if found is None or found["suffix"] not in _SUFFIXES:
        return None
    return float(found["number"]) * _SUFFIXES[found["suffix"]]


def check_resources(
    what: str, requests: Mapping[str, object], limits: Mapping[str, object]
) -> None:
    """Every request and limit of ``what`` is a quantity and no request exceeds its limit;
    :class:`BadArgument` with Kubernetes' message otherwise."""
    for kind, values in (("requests", requests), ("limits", limits)):
        if not isinstance(values, Mapping):
            raise BadArgument(
                f"resources.{kind} of {what} must map resource names (cpu, memory, "
                "nvidia.com/gpu) to quantities.",
                code="BadArgument",
            )
        for resource, value in values.items():
            if value is not None and parse_quantity(value) is None:
                raise BadArgument(
                    f'{what}: resources.{kind}[{resource}]: Invalid value: "{value}": '
                    f"quantities must match the regular expression '{_GRAMMAR}'.",
                    code="BadArgument",
                )
    for resource, value in requests.items():
        limit = limits.get(resource)
        if value is None or limit is None:
            continue
        if (parse_quantity(value) or 0.0) > (parse_quantity(limit) or 0.0):
            raise BadArgument(
                f'{what}: resources.requests: Invalid value: "{value}": must be less than or '
                f"equal to {resource} limit of {limit}.",
                code="BadArgument",
            )
