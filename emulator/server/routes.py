"""azmlinfsrv's routes, answered in the HTTP process (``/score`` is delegated to a worker).

``GET|HEAD /`` → ``Healthy``; ``GET|POST|OPTIONS /score`` (HEAD too: Werkzeug adds it to GET
routes) → ``run()``; ``GET|HEAD /swagger.json``; automatic ``OPTIONS`` on ``/`` and
``/swagger.json``. Other paths get the JSON 404, other methods the JSON 405, both with only
``x-ms-run-function-failed``; the three routes also get the request-id, server-version and CORS
headers. Every answer waits until a worker has finished ``init()``, as with azmlinfsrv.

A streamed answer is logged as azmlinfsrv logs it: ``N/A`` for the size when ``run()`` returns,
and gunicorn's access line, with the body bytes sent, once the stream is over.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, unquote

from emulator.server.config import ServerConfig
from emulator.server.headers import RequestIds, cors_headers
from emulator.server.logs import access_line, access_log, server_log
from emulator.server.messages import HTML, HttpRequest, HttpResponse, error_response
from emulator.server.streaming import StreamedResponse, StreamOutcome
from emulator.server.swagger import ALIASES, version_error
from emulator.server.telemetry import open_file as open_telemetry
from emulator.server.workers import WorkerPool

ROUTES: dict[str, frozenset[str]] = {
    "/": frozenset({"GET", "HEAD", "OPTIONS"}),
    "/score": frozenset({"GET", "HEAD", "POST", "OPTIONS"}),
    "/swagger.json": frozenset({"GET", "HEAD", "OPTIONS"}),
}
NOT_FOUND = (
    "The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again."
)
NOT_ALLOWED = "The method is not allowed for the requested URL."
_SLASHES = re.compile("/{2,}")


class ScoringApp:
    """Answers one parsed request; None means "drop the connection" (the worker died)."""

    def __init__(self, config: ServerConfig, pool: WorkerPool) -> None:
        self._config = config
        self._pool = pool
        self._swagger_bodies: dict[str, bytes] = {}
        self._telemetry = open_telemetry(config)  # None: Application Insights is off

    async def __call__(self, request: HttpRequest) -> HttpResponse | None:
        started = time.perf_counter()
        await self._pool.wait_ready()
        path = _SLASHES.sub("/", unquote(request.path))
        methods = ROUTES.get(path)
        logged = False
        recorded: RequestIds | None = None  # the ids of an App Insights request item
        response: HttpResponse | None
        if methods is None:
            response = error_response(404, NOT_FOUND)
        elif request.method not in methods:
            response = error_response(405, NOT_ALLOWED)
        else:
            ids = RequestIds.of(request)
            if ids.rejection is not None:
                response = ids.rejection
            elif request.method == "OPTIONS" and path != "/score":
                response = HttpResponse(
                    200, [("Content-Type", HTML), ("Allow", "GET, HEAD, OPTIONS")]
                )
            elif path == "/":
                response = HttpResponse(
                    200, [("Content-Type", HTML), ("Content-Length", "7")], b"Healthy"
                )
            else:
                logged = True
                if path == "/score":
                    response = await self._pool.score(
                        replace(request, request_ids=(ids.request_id, ids.client_id))
                    )
                else:
                    response = self._swagger(request.query)
            if response is None:
                return None
            response.headers.extend(self._route_headers(request, ids))
            recorded = ids if path != "/" else None
        if logged:
            elapsed = (time.perf_counter() - started) * 1000
            target = f"{path}?{request.query}" if request.query else path
            size = "N/A" if isinstance(response, StreamedResponse) else len(response.body)
            server_log.info(f"{request.method} {target} {response.status} {elapsed:0.3f}ms {size}")
        if self._telemetry is not None and recorded is not None:
            headers = self._route_headers(request, recorded)
            response = await self._telemetry.record(request, response, recorded, started, headers)
        if isinstance(response, StreamedResponse):
            status = response.status
            response.chunks.when_finished(
                lambda outcome: self._log_streamed(request, status, outcome)
            )
        else:
            self._log_access(request, response.status, len(response.body))
        return response

    def _route_headers(self, request: HttpRequest, ids: RequestIds) -> list[tuple[str, str]]:
        headers = cors_headers(self._config.cors_origins, request)
        if self._config.server_version:
            headers.append(("x-ms-server-version", self._config.server_version))
        headers.extend(ids.headers())
        trace = request.header("TraceId")
        if trace is not None:
            headers.append(("TraceId", trace))
        return headers

    def _swagger(self, query: str) -> HttpResponse:
        version = next(
            (v for k, v in parse_qsl(query, keep_blank_values=True) if k == "version"), "2"
        )
        message = version_error(version, self._pool.documents)
        if message is not None:
            return error_response(404, message)
        body = self._swagger_bodies.get(version)
        if body is None:
            document: Any = self._pool.documents[ALIASES[version]]
            body = self._swagger_bodies[version] = json.dumps(document).encode()
        return HttpResponse(
            200,
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("x-ms-run-function-failed", "False"),
            ],
            body,
        )

    def _log_streamed(self, request: HttpRequest, status: int, outcome: StreamOutcome) -> None:
        self._log_access(request, status, outcome.sent)
        if outcome.failed_before_head:  # gunicorn logs its 500 page too, without the headers
            self._log_access(request, 500, 0, anonymous=True)

    def _log_access(
        self, request: HttpRequest, status: int, size: int, *, anonymous: bool = False
    ) -> None:
        request_line = f"{request.method} {request.target} HTTP/{request.version}"
        if request_line == "GET / HTTP/1.1":  # azmlinfsrv filters liveness probes out
            return
        access_log.info(
            access_line(
                request.client[0],
                request_line,
                status,
                0 if request.method == "HEAD" else size,
                "-" if anonymous else request.header("Referer") or "-",
                "-" if anonymous else request.header("User-Agent") or "-",
            )
        )
