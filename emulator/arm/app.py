"""The ARM face as a WSGI application: authentication, routing, api-versions, error bodies.

Order of checks, as ARM's: the metadata and identity routes answer without a token; every other
request needs ``Authorization: Bearer <token>`` (401 ``AuthenticationFailed`` otherwise, with
ARM's messages; under ``--strict-auth`` a token the emulator's identity endpoint issued), then a
route (ARM-shaped 404 when none knows the path, 405 for a method the route lacks), then an
``api-version`` (400 ``MissingApiVersionParameter`` without one). Any api-version is accepted and
logged, so newer SDK releases work; which ones the client used is in the log. A handler's
unexpected exception is logged with its traceback and answers ARM's 500 body: the client never
sees a traceback.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterable
from typing import Any

from werkzeug.wrappers import Request, Response

from emulator.arm import blob_responses, scoring_responses, urls
from emulator.arm.exceptions import (
    ArmError,
    AuthenticationFailed,
    InvalidResourceType,
    MethodNotAllowed,
    MissingApiVersion,
)
from emulator.arm.identity import ARM_AUDIENCES, verify_token
from emulator.arm.responses import Answer, ArmContext, WorkspaceRequest
from emulator.exceptions import EmulatorError

logger = logging.getLogger("emulator.arm")

_BEARER = re.compile(r"Bearer [A-Za-z0-9\-._~+/]+=*")


class ArmApplication:
    """The WSGI callable serving one emulator root's ARM face."""

    def __init__(self, context: ArmContext, strict_auth: bool = False) -> None:
        self.context = context
        #: The endpoints' scoring URIs (their routing state lives as long as this application).
        self.scoring = scoring_responses.Scoring(context.root)
        #: ``--strict-auth``: only tokens the emulator's identity endpoint issued are accepted.
        self.strict_auth = strict_auth

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        scoring = scoring_responses.SCORING_PATH.fullmatch(environ.get("PATH_INFO") or "/")
        if scoring is not None:  # an endpoint's scoring URI: its keys, not ARM's tokens
            return self.scoring.serve(self.context, environ, start_response, **scoring.groupdict())
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        blob = blob_responses.BLOB_PATH.fullmatch(request.path)
        if blob is not None:  # the default datastore's account: Storage's protocol, not ARM's
            response = blob_responses.handle(
                self.context.root, request, blob["account"], blob["rest"] or "/"
            )
            comp = request.args.get("comp")
            logger.info(
                "%s %s%s -> %d",
                request.method,
                request.path,
                f" comp={comp}" if comp else "",
                response.status_code,
            )
            return response
        api_version = request.args.get("api-version")
        try:
            status, body = self._handle(request, api_version)
            headers: dict[str, str] = {}
            if isinstance(body, Answer):  # a started long-running operation
                status, headers, body = body.status, body.headers, body.body
            response = Response(json.dumps(body), status=status, headers=headers)
        except ArmError as exc:
            status = exc.status
            response = Response(exc.body(), status=status)
        except EmulatorError as exc:  # state refused it (a conflict, a bad name): ARM's body
            status = exc.status or 400
            response = Response(json.dumps(exc.to_arm()), status=status)
        except Exception:
            logger.exception("%s %s failed", request.method, request.path)
            status = 500
            error = ArmError(
                "The emulator failed to process the request. [emulator] Its log (amlemu up's "
                "output, or <root>/daemon/daemon.log) has the traceback; please report it."
            )
            response = Response(error.body(), status=status)
        logger.info("%s %s api-version=%s -> %d", request.method, request.path, api_version, status)
        response.content_type = "application/json; charset=utf-8"
        response.headers["x-ms-request-id"] = str(uuid.uuid4())
        correlation = request.headers.get("x-ms-client-request-id")
        if correlation:
            response.headers["x-ms-client-request-id"] = correlation
        return response

    def _handle(self, request: Request, api_version: str | None) -> tuple[int, Any]:
        found = urls.match(request.path)
        if found is None or found[0].authenticated:
            _authenticate(request, self.context if self.strict_auth else None)
        if found is None:
            raise InvalidResourceType(request.method, request.path, api_version)
        route, params = found
        handler = route.methods.get(request.method)
        if handler is None:
            raise MethodNotAllowed(
                f"The requested resource does not support http method '{request.method}'."
            )
        if route.authenticated and not api_version:
            raise MissingApiVersion()
        if route.scoped:  # the workspace's names become one argument; the rest follow
            subscription, group = params.pop("subscription"), params.pop("resource_group")
            scope = WorkspaceRequest(
                self.context, request, subscription, group, params.pop("workspace")
            )
            return 200, handler(scope, **params)
        return 200, handler(self.context, request, **params)


def _authenticate(request: Request, strict: ArmContext | None) -> None:
    """ARM's 401s: no ``Authorization`` header, or one that is not ``Bearer <token>``; with
    ``strict`` (the context of a ``--strict-auth`` emulator), a token its identity endpoint did
    not issue, or issued for another audience, or expired."""
    header = request.headers.get("Authorization")
    if header is None:
        raise AuthenticationFailed("Authentication failed. The 'Authorization' header is missing.")
    if not _BEARER.fullmatch(header.strip()):
        raise AuthenticationFailed(
            "Authentication failed. The 'Authorization' header is provided in an invalid format."
        )
    if strict is not None:
        audiences = (f"{strict.base_url}/", strict.base_url, *ARM_AUDIENCES)
        verify_token(strict.identity_secret, header.strip()[len("Bearer ") :], audiences)
