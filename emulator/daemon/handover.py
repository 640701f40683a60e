"""The daemon's route for SDK v1 services handed over by other processes, and its client.

``POST /.amlemu/v1/services/<operation>`` on the daemon's loopback HTTPS port carries out what
:mod:`emulator.sdk.webservice.handover` asks of a service the daemon hosts: ``deploy`` (answers
once the record exists; the deploy goes on in the background, as in a script), ``update`` (once
the new replicas serve), ``reload``, ``logs`` and ``sync`` (apply at once what another process
changed in the record: a delete, new keys). Failures answer ``{"error": {"code", "message"}}``
with the status the v1 face turns back into its exception (409 for a name taken, 404 for an
image or service gone, 400 for a configuration refused). The route makes the daemon start
processes, so it takes only a bearer token signed with the root's identity secret for
:data:`AUDIENCE` (what :class:`DaemonReceiver` sends, and what the identity endpoint issues to
those holding ``IDENTITY_HEADER``), whatever ``--strict-auth`` says; every other path goes to the
ARM face.
"""

from __future__ import annotations

import json
import logging
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from emulator.arm.app import ArmApplication
from emulator.arm.identity import TokenRejected, issue_token, verify_token
from emulator.daemon.ca import LocalCA
from emulator.exceptions import BadArgument, Conflict, EmulatorError, NotFound, OperationFailed
from emulator.sdk.exceptions import WebserviceException

if TYPE_CHECKING:  # the v1 faces and services: loaded by the daemon only
    from emulator.daemon.v1_services import V1Services

logger = logging.getLogger("emulator.daemon")

PATH = "/.amlemu/v1/services/"
#: The token audience of the route (no ARM token opens it).
AUDIENCE = "urn:amlemu:daemon:v1-services"
#: How long a client waits for an answer: an update waits for its image and its new replicas.
TIMEOUT_SECONDS = 1800.0
_ERRORS: dict[int, type[EmulatorError]] = {400: BadArgument, 404: NotFound, 409: Conflict}


class HandoverApplication:
    """The daemon's WSGI application: the hand-over route, else the ARM face."""

    def __init__(self, arm: ArmApplication, services: V1Services) -> None:
        self.arm = arm
        self.services = services

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if not str(environ.get("PATH_INFO", "")).startswith(PATH):
            return self.arm(environ, start_response)
        request = Request(environ)
        response = self._handle(request)
        logger.info("%s %s -> %d", request.method, request.path, response.status_code)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        try:
            verify_token(self.arm.context.identity_secret, token, (AUDIENCE,))
        except TokenRejected as exc:
            return _error(
                401, exc.code, f"{PATH} takes tokens issued for {AUDIENCE} only: {exc.message}"
            )
        operations = self.services.operations()
        operation = request.path.removeprefix(PATH)
        handler = operations.get(operation)
        if handler is None:
            known = "|".join(operations)
            return _error(404, "NotFound", f"No operation {operation!r}: POST {PATH}{{{known}}}.")
        if request.method != "POST":
            return _error(405, "MethodNotAllowed", f"{request.path} takes POST only.")
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError as exc:
            return _error(400, "BadArgument", f"The request body is not JSON: {exc}.")
        if not isinstance(body, dict):
            return _error(400, "BadArgument", "The request body must be a JSON object.")
        try:
            answer = handler(body)
        except EmulatorError as exc:
            return _error(exc.status or 500, exc.code, exc.message)
        except WebserviceException as exc:  # the v1 face's own checks of the configuration
            return _error(exc.status_code or 400, "BadArgument", exc.message)
        return Response(json.dumps(answer), status=200, content_type="application/json")


def _error(status: int, code: str, message: str) -> Response:
    return Response(
        json.dumps({"error": {"code": code, "message": message}}),
        status=status,
        content_type="application/json",
    )


class DaemonReceiver:
    """The client side: hands this process's v1 deployments to the daemon at ``base_url``
    (a :class:`~emulator.services.hosting.Receiver`)."""

    def __init__(self, base_url: str, ca: LocalCA, identity_secret: str) -> None:
        self.base_url = base_url
        self._context = ssl.create_default_context(cafile=str(ca.ca_cert))
        self._secret = identity_secret

    def request(self, operation: str, body: Mapping[str, Any]) -> dict[str, Any]:
        token = issue_token(self._secret, AUDIENCE, None)["access_token"]
        http = urllib.request.Request(
            f"{self.base_url}{PATH}{operation}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        try:
            with urllib.request.urlopen(
                http, timeout=TIMEOUT_SECONDS, context=self._context
            ) as response:
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as refusal:
            status, text = refusal.code, refusal.read()
        except OSError as exc:
            raise OperationFailed(
                f"The emulator daemon at {self.base_url} did not answer ({operation}): {exc}. "
                "[emulator] Check it with `amlemu status`, or stop it (`amlemu down`) to host "
                "services in the deploying process."
            ) from exc
        try:
            error = json.loads(text)["error"]
            code, message = str(error["code"]), str(error["message"])
        except (ValueError, KeyError, TypeError):
            code, message = "OperationFailed", text.decode(errors="replace")
        raise _ERRORS.get(status, OperationFailed)(message, code=code, status=status)
