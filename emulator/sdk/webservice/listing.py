"""``Webservice.list``'s filters: which stored services a query selects, as the SDK filters.

The SDK checks ``compute_type`` against the service types it knows before asking the service,
and filters by image (name or id), model (name or id), tags and properties; a tag or property
filter item is a key (present) or a ``[key, value]`` pair (equal).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from emulator.sdk.exceptions import WebserviceException
from emulator.sdk.webservice.endpoint_versions import is_version
from emulator.services.records import ServiceRecord

#: ``compute_type`` values the SDK accepts (compared case-insensitively).
COMPUTE_TYPES = ("ACI", "AKSENDPOINT", "AKS", "IOT", "MIR")


def check_compute_type(compute_type: str | None) -> None:
    """The SDK's message for a ``compute_type`` it does not know."""
    if compute_type is not None and compute_type.upper() not in COMPUTE_TYPES:
        raise WebserviceException(
            f'Invalid compute type "{compute_type}". Valid options are "{",".join(COMPUTE_TYPES)}"'
        )


def selected(
    record: ServiceRecord,
    compute_type: str | None = None,
    image_name: str | None = None,
    image_id: str | None = None,
    model_name: str | None = None,
    model_id: str | None = None,
    tags: Sequence[Any] | None = None,
    properties: Sequence[Any] | None = None,
) -> bool:
    """Whether ``record`` passes every filter given (``None``/empty: no filter). A version of
    an ``AksEndpoint`` is listed under its endpoint (``versions``), not on its own."""
    if is_version(record):
        return False
    if compute_type and record.compute_type.upper() != compute_type.upper():
        return False
    if image_id and record.image_id != image_id:
        return False
    if image_name and (record.image_id or "").split(":")[0] != image_name:
        return False
    if model_id and model_id not in record.model_ids:
        return False
    if model_name and all(m.split(":")[0] != model_name for m in record.model_ids):
        return False
    if tags and not _matches(record.tags, tags):
        return False
    return not (properties and not _matches(record.properties, properties))


def _matches(values: dict[str, str], wanted: Sequence[Any]) -> bool:
    for item in wanted:
        if isinstance(item, (list, tuple)):
            key, value = item[0], item[1]
            if values.get(key) != value:
                return False
        elif item not in values:
            return False
    return True
