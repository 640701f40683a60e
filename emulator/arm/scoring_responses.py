"""An online endpoint's scoring URI: what ``online_endpoints.invoke`` (or any HTTP client) gets.

The protocol of Azure's endpoint front end (``<endpoint>.<region>.inference.ml.azure.com``),
served on the emulator's own port (:data:`SCORING_PATH`):

1. the endpoint's credential (``Authorization: Bearer <key or token>``; 401 otherwise);
2. the deployment (:mod:`emulator.endpoints.routing`: the ``azureml-model-deployment`` header,
   else the traffic weights; 404 ``NoValidDeployments`` when no deployment has traffic), with
   its ``request_settings`` applied to its gateway's admission gate and timeout;
3. the request handed to that deployment's gateway (:meth:`Gateway.answer`: it runs in this
   process, so no loopback connection and no second HTTP parse; its admission gate, timeout
   and faults apply as on its socket), and the replica's answer passed on **byte for byte**
   with its status and headers (its content type included: a text or binary answer is not
   turned into JSON), plus Azure's ``azureml-model-deployment`` header naming the deployment
   that answered;
4. Azure's status table for online endpoints where the front end answers itself: 408 when the
   replica does not answer within ``request_timeout_ms``, 429 when
   ``max_concurrent_requests_per_instance`` times instances requests are in flight and none frees
   within ``max_queue_wait_ms``, 424 when the replica answers 5xx (its body passed on, its
   status in ``ms-azureml-model-error-statuscode``), 502 when the replica drops the request
   (``run()`` crashed its worker), 503 when no replica is ready or running;
5. with ``mirror_traffic``, a copy of the request to the mirror deployment in the background,
   its answer discarded;
6. a no-code Triton deployment (:mod:`emulator.endpoints.triton`) answers the V2 protocol's
   ``/v2/...`` routes at the scoring URI's base (``.../<endpoint>/v2/...``; ``.../score/v2/...``
   too, what a client given the whole scoring URI asks): they are passed to its replicas as
   ``/score`` is to others', with the same gate, timeout, faults and status table.

The front end's own answers are ARM-shaped (``{"error": {"code", "message"}}``), which the
SDK's ``invoke`` turns into the exception's message; to a V2 protocol request they are the
protocol's (``{"error": "<code>: <message>"}``), which V2 clients such as tritonclient read.
It is served straight on the WSGI environ (:meth:`Scoring.serve`): werkzeug's request and
response objects were 40 % of the handler's profile on this hot path. The texts of 408, 424 and
429 are those of Azure's troubleshooting guide for online endpoints (its status-code table); none
was recorded.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from werkzeug.http import HTTP_STATUS_CODES

from emulator.arm.endpoint_auth import credential_refusal
from emulator.arm.exceptions import ArmError, ResourceNotFound
from emulator.arm.responses import ArmContext
from emulator.endpoints.deployments import DeploymentRecord
from emulator.endpoints.routing import DEPLOYMENT_HEADER, RequestSettings, Router, deliver_to
from emulator.exceptions import EmulatorError
from emulator.server.messages import HttpRequest, HttpResponse
from emulator.services.deployment import Deployment
from emulator.services.responses import HINT_HEADER, overloaded_message
from emulator.store.root import EmulatorRoot

logger = logging.getLogger("emulator.arm")

#: The scoring URI's path (``endpoint_responses.scoring_uri``): the endpoints' data plane,
#: authenticated with the endpoint's keys instead of ARM tokens and without an api-version.
SCORING_PATH = re.compile(
    r"/inference/(?P<subscription>[^/]+)/(?P<resource_group>[^/]+)/(?P<workspace>[^/]+)"
    r"/(?P<endpoint>[^/]+)/(?:score/?|(?:score/)?(?P<v2>v2(?:/.*)?))",
    re.IGNORECASE,
)

#: Request headers (as WSGI environ keys) not passed to the deployment: the endpoint's
#: credential (the replica has none to check), and what belongs to one connection (``Host``
#: is passed on, as the web-service gateways pass it; ``Content-Length`` is the gateway's).
_NOT_FORWARDED = frozenset(
    {
        "HTTP_AUTHORIZATION",
        "HTTP_CONNECTION",
        "HTTP_KEEP_ALIVE",
        "HTTP_PROXY_AUTHORIZATION",
        "HTTP_TE",
        "HTTP_TRAILER",
        "HTTP_TRANSFER_ENCODING",
        "HTTP_UPGRADE",
        "HTTP_EXPECT",
        "HTTP_CONTENT_TYPE",  # CONTENT_TYPE's (werkzeug's rule)
        "HTTP_CONTENT_LENGTH",
    }
)
#: The environ key of :data:`DEPLOYMENT_HEADER`.
_DEPLOYMENT_KEY = "HTTP_" + DEPLOYMENT_HEADER.upper().replace("-", "_")
#: Answer headers the emulator's server writes itself.
_NOT_RETURNED = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"}
)
_JSON = [("Content-Type", "application/json; charset=utf-8")]
#: An answer: status, headers, body.
_Reply = tuple[int, list[tuple[str, str]], bytes]
#: Seconds beyond the deployment's own limits before the front end stops waiting for the
#: gateway (which answers 408/429 first; this only catches a gateway that stopped answering).
_GATEWAY_SLACK_S = 10.0
#: Mirrored copies in flight at once; beyond, a copy is dropped (and logged) rather than
#: piling up threads behind a slow mirror deployment: the copy is best effort, the live
#: answer never waits for it.
MAX_MIRRORED_IN_FLIGHT = 32


class Unauthorized(ArmError):
    """401 from the scoring URI: no key, or not one of the endpoint's."""

    status = 401
    code = "Unauthorized"


class _FrontAnswer(ArmError):
    """An answer of the endpoint's front end itself, with the status Azure's table gives."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class Scoring:
    """The scoring URIs of one emulator root's endpoints (the ARM application holds one) and
    their routing state."""

    def __init__(self, root: EmulatorRoot) -> None:
        self.router = Router(root)
        self._mirror_slots = threading.BoundedSemaphore(MAX_MIRRORED_IN_FLIGHT)

    def serve(
        self,
        ctx: ArmContext,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        **names: str,
    ) -> list[bytes]:
        """The WSGI answer to one request to a scoring URI (``names``: :data:`SCORING_PATH`'s
        groups), logged as the ARM face logs its requests."""
        status, headers, body = self.handle(ctx, environ, **names)
        method = environ["REQUEST_METHOD"]
        logger.info("%s %s -> %d", method, environ["PATH_INFO"], status)
        bodiless = 100 <= status < 200 or status in (204, 304)
        if not bodiless:
            headers.append(("Content-Length", str(len(body))))
        start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'unknown').upper()}", headers)
        return [] if bodiless or method == "HEAD" else [body]

    def handle(
        self,
        ctx: ArmContext,
        environ: dict[str, Any],
        subscription: str,
        resource_group: str,
        workspace: str,
        endpoint: str,
        v2: str | None = None,
    ) -> _Reply:
        """Answer one request to the scoring URI of ``endpoint`` (``v2``: the ``v2/...`` path
        of a V2 protocol request; errors as Azure's front end gives them, never a traceback)."""
        try:
            return self._score(ctx, environ, subscription, resource_group, workspace, endpoint, v2)
        except ArmError as exc:
            return exc.status, list(_JSON), _error_body(exc.code, exc.message, v2)
        except EmulatorError as exc:
            return exc.status or 400, list(_JSON), _error_body(exc.code, exc.message, v2)
        except Exception:
            logger.exception("%s %s failed", environ["REQUEST_METHOD"], environ["PATH_INFO"])
            error = ArmError(
                "The emulator failed to score the request. [emulator] Its log (amlemu up's "
                "output, or <root>/daemon/daemon.log) has the traceback; please report it."
            )
            return 500, list(_JSON), _error_body(error.code, error.message, v2)

    def _score(
        self,
        ctx: ArmContext,
        environ: dict[str, Any],
        subscription: str,
        resource_group: str,
        workspace: str,
        endpoint: str,
        v2: str | None,
    ) -> _Reply:
        workspace_id = self.router.workspace_id(subscription, resource_group, workspace)
        if workspace_id is None:
            raise ResourceNotFound(
                f"Workspace '{workspace}' does not exist; nothing is served here."
            )
        record = self.router.endpoint(workspace_id, endpoint)
        refused = credential_refusal(ctx, record, environ.get("HTTP_AUTHORIZATION"))
        if refused is not None:
            raise Unauthorized(refused)
        route = self.router.choose(workspace_id, record, environ.get(_DEPLOYMENT_KEY))
        body = _body(environ)
        headers = _forwarded(environ)
        method, query = environ["REQUEST_METHOD"], environ.get("QUERY_STRING")
        path = "/score" if v2 is None else f"/{v2}"
        target = f"{path}?{query}" if query else path
        if route.mirror is not None:
            self._mirror(ctx.root, workspace_id, route.mirror, method, target, body, headers)
        deployment = route.deployment
        settings = RequestSettings.of(deployment)
        live = deliver_to(ctx.root, workspace_id, deployment, settings)
        if live is None:
            raise _FrontAnswer(
                503,
                "ServiceUnavailable",
                f"Deployment '{deployment.name}' has no running replica. [emulator] The process "
                "that created it has ended; run the emulator as a daemon (amlemu up) to keep "
                "deployments running, or create the deployment again.",
            )
        _check_protocol(deployment, live, v2)
        answer = self._forward(deployment.name, live, settings, method, target, body, headers)
        return _answer(deployment, settings, live.name, answer)

    def _forward(
        self,
        deployment: str,
        live: Deployment,
        settings: RequestSettings,
        method: str,
        target: str,
        body: bytes,
        headers: tuple[tuple[str, str], ...],
    ) -> HttpResponse:
        path, _, query = target.partition("?")
        request = HttpRequest(method, target, path, query, headers, body)
        timeout = (settings.request_timeout_ms + settings.max_queue_wait_ms) / 1000
        try:
            answer = live.gateway.answer(request, timeout + _GATEWAY_SLACK_S)
        except TimeoutError as exc:
            raise _timeout(deployment, settings) from exc
        except OSError as exc:
            raise _FrontAnswer(
                502,
                "BadGateway",
                f"The deployment's replicas could not be reached ({exc}). [emulator] See the "
                "deployment's get_logs().",
            ) from exc
        if answer is None:
            raise _FrontAnswer(
                502,
                "BadGateway",
                f"Deployment '{deployment}' dropped the request without answering (an injected "
                "drop fault, or the deployment stopped meanwhile). [emulator] See the "
                "deployment's get_logs().",
            )
        return answer

    def _mirror(
        self,
        root: EmulatorRoot,
        workspace_id: int,
        mirror: DeploymentRecord,
        method: str,
        target: str,
        body: bytes,
        headers: tuple[tuple[str, str], ...],
    ) -> None:
        """Send a copy to the mirror deployment in the background; its answer is discarded
        (a failure is logged, never seen by the client)."""
        if not self._mirror_slots.acquire(blocking=False):
            logger.warning(
                "mirror deployment '%s': %d copies already in flight, this one is dropped",
                mirror.name,
                MAX_MIRRORED_IN_FLIGHT,
            )
            return

        def copy() -> None:
            try:
                settings = RequestSettings.of(mirror)
                live = deliver_to(root, workspace_id, mirror, settings)
                if live is None:
                    logger.info("mirror deployment '%s' has no running replica", mirror.name)
                    return
                answer = self._forward(mirror.name, live, settings, method, target, body, headers)
                logger.debug("mirror deployment '%s' answered %d", mirror.name, answer.status)
            except (ArmError, EmulatorError) as exc:
                logger.info("mirror deployment '%s': %s", mirror.name, exc)
            finally:
                self._mirror_slots.release()

        threading.Thread(target=copy, name=f"amlemu-mirror-{mirror.name}", daemon=True).start()


def _answer(
    deployment: DeploymentRecord,
    settings: RequestSettings,
    service: str,
    answer: HttpResponse,
) -> _Reply:
    """The gateway's answer as the endpoint gives it: the replica's own passed on (5xx as 424),
    the gateway's own mapped to Azure's status table."""
    status, headers, body = answer.status, answer.headers, answer.body
    front = any(name.lower() == HINT_HEADER for name, _ in headers)
    if front and status == 503 and body == overloaded_message(service).encode():
        instances = int(deployment.sku.get("capacity") or 1)
        raise _FrontAnswer(
            429,
            "TooManyRequests",
            "Too many pending requests: the model is getting more requests than it can handle. "
            f"[emulator] Deployment '{deployment.name}' had "
            f"max_concurrent_requests_per_instance={settings.max_concurrent_requests_per_instance}"
            f" x {instances} instance(s) requests in flight and none finished within "
            f"max_queue_wait_ms={settings.max_queue_wait_ms}: raise request_settings or "
            "instance_count, or send fewer requests at once.",
        )
    if front and status == 504:
        raise _timeout(deployment.name, settings)
    if front and status == 503:
        raise _FrontAnswer(
            503,
            "ServiceUnavailable",
            f"No ready replicas for deployment '{deployment.name}'. [emulator] See its "
            "get_logs(): init() may still run or have failed.",
        )
    if front and status == 502:
        raise _FrontAnswer(
            502,
            "BadGateway",
            f"Deployment '{deployment.name}' closed the connection without answering: run() "
            "raised or crashed the worker. [emulator] See the deployment's get_logs().",
        )
    kept = [
        (k, v) for k, v in headers if k.lower() not in _NOT_RETURNED and k.lower() != HINT_HEADER
    ]
    kept.append((DEPLOYMENT_HEADER, deployment.name))
    if status >= 500 and not front:  # Azure: the model's error is a 424, its status a header
        kept += [
            ("ms-azureml-model-error-statuscode", str(status)),
            ("ms-azureml-model-error-reason", "model_error"),
        ]
        status = 424
    return status, kept, body


def _check_protocol(deployment: DeploymentRecord, live: Deployment, v2: str | None) -> None:
    """404 for a request the deployment's replicas do not serve: ``/v2/...`` (``v2``) of a
    deployment that is not Triton's, ``/score`` of one that is."""
    triton = live.template.scoring_prefix is not None
    if v2 is not None and not triton:
        raise _FrontAnswer(
            404,
            "NotFound",
            f"Deployment '{deployment.name}' does not serve the V2 inference protocol (/{v2}): "
            "only no-code deployments of Triton models do. [emulator] Send scoring requests "
            "to the scoring URI (.../score).",
        )
    if v2 is None and triton:
        raise _FrontAnswer(
            404,
            "NotFound",
            f"Deployment '{deployment.name}' serves a Triton model: it answers the V2 inference "
            "protocol at the scoring URI's base (/v2/health/ready, /v2/models/<name>/infer), "
            "not /score. [emulator] Give tritonclient the scoring URI without https:// and "
            "/score.",
        )


def _error_body(code: str, message: str, v2: str | None) -> bytes:
    """The front end's own error: ARM's shape, or for a V2 protocol request the protocol's
    (``{"error": "<text>"}``, the only shape V2 clients read: tritonclient's exception cannot
    even be printed with an object there)."""
    if v2 is None:
        return json.dumps({"error": {"code": code, "message": message}}).encode()
    return json.dumps({"error": f"{code}: {message}"}).encode()


def _timeout(deployment: str, settings: RequestSettings) -> _FrontAnswer:
    return _FrontAnswer(
        408,
        "RequestTimeout",
        "The model execution took longer than the timeout supplied in request_timeout_ms "
        f"under request_settings of your model deployment config. [emulator] Deployment "
        f"'{deployment}' did not answer within request_timeout_ms="
        f"{settings.request_timeout_ms}: raise it or make run() faster.",
    )


def _body(environ: dict[str, Any]) -> bytes:
    """The request body: ``CONTENT_LENGTH`` bytes, or up to the end of a chunked one."""
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        return bytes(stream.read())
    length = environ.get("CONTENT_LENGTH") or ""
    size = int(length) if length.isdigit() else 0
    chunks = []
    left = size
    while left > 0:
        data = stream.read(left)
        if not data:
            raise _FrontAnswer(
                400,
                "BadRequest",
                f"The request body ended after {size - left} of its {size} bytes (Content-Length).",
            )
        chunks.append(data)
        left -= len(data)
    return b"".join(chunks)


def _forwarded(environ: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The request headers passed to the deployment, named as werkzeug names them."""
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            if key not in _NOT_FORWARDED:
                headers.append((key[5:].replace("_", "-").title(), value))
        elif key == "CONTENT_TYPE" and value:
            headers.append(("Content-Type", value))
    return tuple(headers)
