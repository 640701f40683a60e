"""What a service expects as input: its ``inference_schema`` schema (from the swagger) or a sample.

A deployed service publishes the schemas of a decorated ``run()`` in ``/swagger.json``
(``definitions.ServiceInput`` in Swagger 2, ``components.schemas.ServiceInput`` in OpenAPI 3),
with an example request. An undecorated ``run()`` publishes an empty object, so its inputs can
only be learned from a sample request.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from typing import Any

#: What azmlinfsrv publishes for an undecorated run(): no information.
_UNDECORATED = {"type": "object", "example": {}}


@dataclass(frozen=True)
class InputSpec:
    """A request body's JSON schema (None: only a sample is known), a valid example body, and
    the schema of the answer when the service publishes one."""

    schema: dict[str, Any] | None
    example: Any
    output_schema: dict[str, Any] | None = None


def input_spec(source: Any) -> InputSpec:
    """``source``: a deployed service, a swagger document, or a sample request body (a JSON
    value, or JSON text)."""
    if hasattr(source, "swagger_uri") and hasattr(source, "scoring_uri"):
        return from_swagger(service_swagger(source), f"service {source.name}")
    if isinstance(source, dict) and ("swagger" in source or "openapi" in source):
        return from_swagger(source, "the swagger document")
    if isinstance(source, str | bytes | bytearray):
        try:
            source = json.loads(source)
        except ValueError as error:
            raise ValueError(
                f"a sample input given as text must be JSON ({error}); pass the request body "
                "you would send, e.g. '{\"data\": [[1.0, 2.0]]}'"
            ) from None
    return InputSpec(None, source)


def service_swagger(service: Any, timeout: float = 30.0) -> dict[str, Any]:
    """The service's ``/swagger.json`` (through ``urllib``, so an active mock answers it)."""
    if not service.swagger_uri:
        raise ValueError(
            f"service {service.name} has no swagger URI (state {service.state}); wait for its "
            "deployment first: service.wait_for_deployment()"
        )
    with urllib.request.urlopen(service.swagger_uri, timeout=timeout) as answer:
        document: dict[str, Any] = json.load(answer)
    return document


def from_swagger(document: dict[str, Any], what: str) -> InputSpec:
    inputs = _definition(document, "ServiceInput")
    if inputs is None:
        raise ValueError(
            f"{what} has no ServiceInput schema (definitions.ServiceInput or "
            "components.schemas.ServiceInput); generate payloads from a sample input instead: "
            "payloads(<sample request body>)"
        )
    if _is_undecorated(inputs):
        raise ValueError(
            f"{what} publishes no input schema: its run() is not decorated with "
            "inference_schema's @input_schema. Generate payloads from a sample input instead: "
            "payloads(<sample request body>), or decorate run()"
        )
    outputs = _definition(document, "ServiceOutput")
    output_schema = None if outputs is None or _is_undecorated(outputs) else outputs
    return InputSpec(inputs, inputs.get("example"), output_schema)


def _definition(document: dict[str, Any], name: str) -> dict[str, Any] | None:
    found = document.get("definitions", {}).get(name)
    if found is None:
        found = document.get("components", {}).get("schemas", {}).get(name)
    return found if isinstance(found, dict) else None


def _is_undecorated(schema: dict[str, Any]) -> bool:
    return schema == _UNDECORATED or not ({"properties", "items", "enum"} & schema.keys())
