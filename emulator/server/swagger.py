"""``/swagger.json``: the OpenAPI documents azmlinfsrv serves, versions 2, 3 and 3.1.

A user file in the app root (``swagger.json`` or ``swagger2.json``, ``swagger3.json``,
``swagger3.1.json``) wins; otherwise the document is generated, with the input/output schemas
from inference-schema when ``run()`` is decorated and empty objects when it is not. Workers
build the documents (they hold ``run()``); the HTTP process only serves them.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from emulator.server.config import ServerConfig

logger = logging.getLogger("azmlinfsrv.swagger")

#: Version → the aliases ``?version=`` accepts for it.
VERSIONS: dict[str, tuple[str, ...]] = {"2": ("2", "2.0"), "3": ("3", "3.0"), "3.1": ("3.1",)}
ALIASES = {alias: version for version, aliases in VERSIONS.items() for alias in aliases}
_ALL_SCHEMA_VERSIONS = ("2.0", "3.0", "3.1")
_USER_FILES = {"2": ("swagger.json", "swagger2.json"), "3": ("swagger3.json",)}
_UNDECORATED: dict[str, Any] = {"type": "object", "example": {}}

_HEALTH = "Simple health check endpoint to ensure the service is up at any given point."
_HEALTHY = "If service is up and running, this response will be returned with the content 'Healthy'"
_FAILED = "The service failed to execute due to an error."
_RUN = "Run web service's model and get the prediction output"
_PAYLOAD = "The input payload for executing the real-time machine learning service."
_OUTPUT = (
    "The service processed the input correctly and provided a result prediction, if applicable."
)
_BEARER = {
    "type": "apiKey",
    "name": "Authorization",
    "in": "header",
    "description": "For example: Bearer abc123",
}
_ERROR = {"type": "object", "properties": {"message": {"type": "string"}}}


def build_documents(run: Callable[..., object], config: ServerConfig) -> dict[str, Any]:
    """Version → document (None: not available for this script), logging what was prepared."""
    documents: dict[str, Any] = {}
    for version in VERSIONS:
        documents[version] = _user_document(config.app_root, version) or _generated(
            run, config, version
        )
    ready = [v for v, doc in documents.items() if doc is not None]
    skipped = [v for v, doc in documents.items() if doc is None]
    if ready and skipped:
        logger.info(
            f"Swaggers are prepared for versions [{', '.join(ready)}] "
            f"and skipped for versions [{', '.join(skipped)}]."
        )
    elif ready:
        logger.info(f"Swaggers are prepared for the following versions: [{', '.join(ready)}].")
    else:
        logger.info("No swagger is prepared.")
    return documents


def _user_document(app_root: str, version: str) -> Any:
    for name in _USER_FILES.get(version, (f"swagger{version}.json",)):
        path = os.path.join(app_root, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
            logger.info(f"Loaded user's swagger file for version [{version}] from {path}")
            return document
    return None


def _generated(run: Callable[..., object], config: ServerConfig, version: str) -> Any:
    schema_util = sys.modules.get("inference_schema.schema_util")
    supported = schema_util.get_supported_versions(run) if schema_util else _ALL_SCHEMA_VERSIONS
    if not set(VERSIONS[version]) & set(supported):
        return None
    if schema_util is not None and schema_util.is_schema_decorated(run):
        inputs, outputs = schema_util.get_input_schema(run), schema_util.get_output_schema(run)
    else:
        inputs, outputs = dict(_UNDECORATED), dict(_UNDECORATED)
    prefix = f"/{config.service_path_prefix.strip('/')}" if config.service_path_prefix else ""
    info = {
        "title": config.service_name,
        "description": "API specification for the Azure Machine Learning service "
        + config.service_name,
        "version": config.service_version,
    }
    if version == "2":
        return _swagger2(info, prefix, inputs, outputs)
    return _openapi3(info, prefix, inputs, outputs, "3.1.0" if version == "3.1" else "3.0.3")


def _swagger2(info: dict[str, str], prefix: str, inputs: Any, outputs: Any) -> dict[str, Any]:
    error = {"description": _FAILED, "schema": {"$ref": "#/definitions/ErrorResponse"}}
    return {
        "swagger": "2.0",
        "info": info,
        "schemes": ["https"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "securityDefinitions": {"Bearer": _BEARER},
        "paths": {
            f"{prefix}/": {
                "get": {
                    "operationId": "ServiceHealthCheck",
                    "description": _HEALTH,
                    "responses": {
                        "200": {
                            "description": _HEALTHY,
                            "schema": {"type": "string"},
                            "examples": {"application/json": "Healthy"},
                        },
                        "default": error,
                    },
                }
            },
            f"{prefix}/score": {
                "post": {
                    "operationId": "RunMLService",
                    "description": _RUN,
                    "security": [{"Bearer": []}],
                    "parameters": [
                        {
                            "name": "serviceInputPayload",
                            "in": "body",
                            "description": _PAYLOAD,
                            "schema": {"$ref": "#/definitions/ServiceInput"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": _OUTPUT,
                            "schema": {"$ref": "#/definitions/ServiceOutput"},
                        },
                        "default": error,
                    },
                }
            },
            f"{prefix}/swagger.json": {
                "get": {
                    "operationId": "GetSwaggerSpec",
                    "description": "Get the Swagger specification.",
                    "parameters": [
                        {
                            "name": "version",
                            "in": "query",
                            "required": False,
                            "type": "integer",
                            "enum": [2, 3],
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The Swagger specification.",
                            "schema": {"type": "string"},
                        },
                        "default": error,
                    },
                }
            },
        },
        "definitions": {"ServiceInput": inputs, "ServiceOutput": outputs, "ErrorResponse": _ERROR},
    }


def _content(media: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {media: {"schema": schema}}


def _openapi3(
    info: dict[str, str], prefix: str, inputs: Any, outputs: Any, openapi: str
) -> dict[str, Any]:
    error = {
        "description": _FAILED,
        "content": _content("application/json", {"$ref": "#/components/schemas/ErrorResponse"}),
    }
    return {
        "openapi": openapi,
        "info": info,
        "security": [{"Bearer": []}],
        "paths": {
            f"{prefix}/": {
                "get": {
                    "operationId": "ServiceHealthCheck",
                    "description": _HEALTH,
                    "responses": {
                        "200": {
                            "description": _HEALTHY,
                            "content": _content(
                                "text/plain", {"type": "string", "example": "Healthy"}
                            ),
                        },
                        "default": error,
                    },
                }
            },
            f"{prefix}/score": {
                "post": {
                    "operationId": "RunMLService",
                    "description": _RUN,
                    "security": [{"Bearer": []}],
                    "requestBody": {
                        "description": _PAYLOAD,
                        "content": _content(
                            "application/json", {"$ref": "#/components/schemas/ServiceInput"}
                        ),
                    },
                    "responses": {
                        "200": {
                            "description": _OUTPUT,
                            "content": _content(
                                "application/json", {"$ref": "#/components/schemas/ServiceOutput"}
                            ),
                        },
                        "default": error,
                    },
                }
            },
            f"{prefix}/swagger.json": {
                "get": {
                    "operationId": "GetSwaggerSpec",
                    "description": "Get the Swagger specification.",
                    "parameters": [
                        {
                            "name": "version",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "enum": [2, 3]},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The Swagger specification.",
                            "content": _content("text/plain", {"type": "string"}),
                        },
                        "default": error,
                    },
                }
            },
        },
        "components": {
            "schemas": {"ServiceInput": inputs, "ServiceOutput": outputs, "ErrorResponse": _ERROR},
            "securitySchemes": {"Bearer": _BEARER},
        },
    }


def version_error(requested: str, documents: dict[str, Any]) -> str | None:
    """The 404 message for ``?version=requested``, or None when it can be served."""
    supported = ", ".join(sorted(v for v, doc in documents.items() if doc is not None))
    if requested not in ALIASES:
        return f"Swagger version [{requested}] is not valid. Supported versions: [{supported}]."
    if documents.get(ALIASES[requested]) is None:
        return (
            f"Swagger version [{requested}] is not supported for the scoring script. "
            f"Supported swagger versions: [{supported}]."
        )
    return None
