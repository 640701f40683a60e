"""An online endpoint's scoring URI: what ``online_endpoints.invoke`` (or any HTTP client) gets.

The protocol of Azure's endpoint front end (``<endpoint>.<region>.inference.ml.azure.com``),
served on the emulator's own port (:data:`SCORING_PATH`):

1. the endpoint's credential (``Authorization: Bearer <key or token>``; 401 otherwise);
2. the deployment (:mod:`emulator.endpoints.routing`: the ``azureml-model-deployment`` header,
   else the traffic weights; 404 ``NoValidDeployments`` when no deployment has traffic), with
   its ``request_settings`` applied to its gateway's admission gate and timeout;
3. the request forwarded over a kept-alive connection to that deployment's gateway, and the
   replica's answer passed on **byte for byte** with its status and headers (its content type
   included: a text or binary answer is not turned into JSON), plus Azure's
   ``azureml-model-deployment`` header naming the deployment that answered;
4. Azure's status table for online endpoints where the front end answers itself: 408 when the
   replica does not answer within ``request_timeout_ms``, 429 when
   ``max_concurrent_requests_per_instance`` times instances requests are in flight and none frees
   within ``max_queue_wait_ms``, 424 when the replica answers 5xx (its body passed on, its
   status in ``ms-azureml-model-error-statuscode``), 502 when the replica drops the request
   (``run()`` crashed its worker), 503 when no replica is ready or running;
5. with ``mirror_traffic``, a copy of the request to the mirror deployment in the background,
   its answer discarded.

The front end's own answers are ARM-shaped (``{"error": {"code", "message"}}``), which the
SDK's ``invoke`` turns into the exception's message. The texts of 408, 424 and 429 are those of
Azure's troubleshooting guide for online endpoints (its status-code table); none was recorded.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import socket
import threading

from werkzeug.wrappers import Request, Response

from emulator.arm.endpoint_auth import credential_refusal
from emulator.arm.exceptions import ArmError, ResourceNotFound
from emulator.arm.responses import ArmContext
from emulator.endpoints.deployments import DeploymentRecord
from emulator.endpoints.routing import DEPLOYMENT_HEADER, RequestSettings, Router, deliver_to
from emulator.exceptions import EmulatorError
from emulator.services.deployment import Deployment
from emulator.services.responses import HINT_HEADER, overloaded_message
from emulator.store.root import EmulatorRoot

logger = logging.getLogger("emulator.arm")

#: The scoring URI's path (``endpoint_responses.scoring_uri``): the endpoints' data plane,
#: authenticated with the endpoint's keys instead of ARM tokens and without an api-version.
SCORING_PATH = re.compile(
    r"/inference/(?P<subscription>[^/]+)/(?P<resource_group>[^/]+)/(?P<workspace>[^/]+)"
    r"/(?P<endpoint>[^/]+)/score/?",
    re.IGNORECASE,
)

#: Request headers not passed to the deployment: the endpoint's credential (the replica has
#: none to check), and what belongs to one connection.
_NOT_FORWARDED = frozenset(
    {
        "authorization",
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
    }
)
#: Answer headers the emulator's server writes itself.
_NOT_RETURNED = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"}
)
#: Seconds beyond the deployment's own limits before the forwarding socket gives up (the
#: gateway answers 408/429 first; this only catches a gateway that stopped answering).
_SOCKET_SLACK_S = 10.0
#: Idle connections kept per gateway.
_MAX_IDLE = 16
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
    """The scoring URIs of one emulator root's endpoints (the ARM application holds one): the
    routing state and the kept-alive connections to the deployments' gateways."""

    def __init__(self, root: EmulatorRoot) -> None:
        self.router = Router(root)
        self._connections = _Connections()
        self._mirror_slots = threading.BoundedSemaphore(MAX_MIRRORED_IN_FLIGHT)

    def handle(
        self,
        ctx: ArmContext,
        request: Request,
        subscription: str,
        resource_group: str,
        workspace: str,
        endpoint: str,
    ) -> Response:
        """Answer one request to the scoring URI of ``endpoint`` (errors as Azure's front end
        gives them, never a traceback)."""
        try:
            return self._score(ctx, request, subscription, resource_group, workspace, endpoint)
        except ArmError as exc:
            return _json(exc.status, exc.body())
        except EmulatorError as exc:
            return _json(exc.status or 400, json.dumps(exc.to_arm()).encode())
        except Exception:
            logger.exception("%s %s failed", request.method, request.path)
            error = ArmError(
                "The emulator failed to score the request. [emulator] Its log (amlemu up's "
                "output, or <root>/daemon/daemon.log) has the traceback; please report it."
            )
            return _json(500, error.body())

    def _score(
        self,
        ctx: ArmContext,
        request: Request,
        subscription: str,
        resource_group: str,
        workspace: str,
        endpoint: str,
    ) -> Response:
        workspace_id = self.router.workspace_id(subscription, resource_group, workspace)
        if workspace_id is None:
            raise ResourceNotFound(
                f"Workspace '{workspace}' does not exist; nothing is served here."
            )
        record = self.router.endpoint(workspace_id, endpoint)
        refused = credential_refusal(ctx, record, request.headers.get("Authorization"))
        if refused is not None:
            raise Unauthorized(refused)
        route = self.router.choose(workspace_id, record, request.headers.get(DEPLOYMENT_HEADER))
        body = request.get_data()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        target = "/score" + (f"?{request.query_string.decode()}" if request.query_string else "")
        if route.mirror is not None:
            self._mirror(
                ctx.root, workspace_id, route.mirror, request.method, target, body, headers
            )
        deployment = route.deployment
        live = deliver_to(ctx.root, workspace_id, deployment)
        if live is None:
            raise _FrontAnswer(
                503,
                "ServiceUnavailable",
                f"Deployment '{deployment.name}' has no running replica. [emulator] The process "
                "that created it has ended; run the emulator as a daemon (amlemu up) to keep "
                "deployments running, or create the deployment again.",
            )
        settings = RequestSettings.of(deployment)
        status, answer_headers, answer = self._forward(
            live, settings, request.method, target, body, headers
        )
        return _answer(deployment, settings, live.name, status, answer_headers, answer)

    def _forward(
        self,
        live: Deployment,
        settings: RequestSettings,
        method: str,
        target: str,
        body: bytes,
        headers: dict[str, str],
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        timeout = (settings.request_timeout_ms + settings.max_queue_wait_ms) / 1000
        try:
            return self._connections.request(
                live.gateway.port, method, target, body, headers, timeout + _SOCKET_SLACK_S
            )
        except TimeoutError as exc:
            raise _timeout(live.name, settings) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise _FrontAnswer(
                502,
                "BadGateway",
                f"The deployment's replicas could not be reached ({exc}). [emulator] See the "
                "deployment's get_logs().",
            ) from exc

    def _mirror(
        self,
        root: EmulatorRoot,
        workspace_id: int,
        mirror: DeploymentRecord,
        method: str,
        target: str,
        body: bytes,
        headers: dict[str, str],
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
                live = deliver_to(root, workspace_id, mirror)
                if live is None:
                    logger.info("mirror deployment '%s' has no running replica", mirror.name)
                    return
                settings = RequestSettings.of(mirror)
                status, _, _ = self._forward(live, settings, method, target, body, headers)
                logger.debug("mirror deployment '%s' answered %d", mirror.name, status)
            except (ArmError, EmulatorError) as exc:
                logger.info("mirror deployment '%s': %s", mirror.name, exc)
            finally:
                self._mirror_slots.release()

        threading.Thread(target=copy, name=f"amlemu-mirror-{mirror.name}", daemon=True).start()


def _answer(
    deployment: DeploymentRecord,
    settings: RequestSettings,
    service: str,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
) -> Response:
    """The gateway's answer as the endpoint gives it: the replica's own passed on (5xx as 424),
    the gateway's own mapped to Azure's status table."""
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
    response = Response(body, status=status, headers=kept)
    if not any(k.lower() == "content-type" for k, _ in kept):
        del response.headers["Content-Type"]  # none from the replica: none from us
    return response


def _timeout(deployment: str, settings: RequestSettings) -> _FrontAnswer:
    return _FrontAnswer(
        408,
        "RequestTimeout",
        "The model execution took longer than the timeout supplied in request_timeout_ms "
        f"under request_settings of your model deployment config. [emulator] Deployment "
        f"'{deployment}' did not answer within request_timeout_ms="
        f"{settings.request_timeout_ms}: raise it or make run() faster.",
    )


def _json(status: int, body: bytes) -> Response:
    return Response(body, status=status, content_type="application/json; charset=utf-8")


class _NoDelayConnection(http.client.HTTPConnection):
    """http.client writes a request's head and body separately: without ``TCP_NODELAY``,
    Nagle's algorithm holds the body back until the gateway acknowledges the head, which a
    delayed ACK postpones by tens of milliseconds (measured: 17 ms per request on loopback)."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Connections:
    """Kept-alive HTTP connections to the deployments' gateways (loopback), shared by the
    server's threads: a connection is taken for one exchange and put back when the answer
    allows reuse, so a client's keep-alive requests cost no TCP handshake downstream either."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[int, list[http.client.HTTPConnection]] = {}

    def request(
        self,
        port: int,
        method: str,
        target: str,
        body: bytes,
        headers: dict[str, str],
        timeout: float,
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """One exchange; a reused connection the gateway closed while idle is retried once on a
        fresh one (the request never reached it)."""
        with self._lock:
            idle = self._idle.get(port)
            conn = idle.pop() if idle else None
        if conn is not None:
            try:
                return self._exchange(port, conn, method, target, body, headers, timeout)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                pass
        conn = _NoDelayConnection("127.0.0.1", port, timeout=timeout)
        return self._exchange(port, conn, method, target, body, headers, timeout)

    def _exchange(
        self,
        port: int,
        conn: http.client.HTTPConnection,
        method: str,
        target: str,
        body: bytes,
        headers: dict[str, str],
        timeout: float,
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        try:
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            conn.request(method, target, body=body, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
        except BaseException:
            conn.close()
            raise
        kept = False
        if not answer.will_close:
            with self._lock:
                idle = self._idle.setdefault(port, [])
                if len(idle) < _MAX_IDLE:
                    idle.append(conn)
                    kept = True
        if not kept:
            conn.close()
        return answer.status, answer.getheaders(), data
