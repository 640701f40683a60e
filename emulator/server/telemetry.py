"""Application Insights recorded, not sent: what azmlinfsrv 1.5.1 would export, as JSON lines.

With ``AML_APP_INSIGHTS_ENABLED=true`` and a valid key (see
:func:`emulator.server.config.check_app_insights`), azmlinfsrv exports three kinds of items
through OpenTelemetry; the emulator writes each as one JSON object per line to
``AZUREML_EMULATOR_TELEMETRY_FILE`` (a service's replica: next to its log, see
:func:`telemetry_path`; ``amlemu serve``: under the emulator root) and sends nothing anywhere:

- ``request``: every answer of ``/score`` and ``/swagger.json`` (not ``/``, nor 404/405), with
  the attributes azmlinfsrv sets (``name``, ``url``, ``resultCode``, ``success``, ``duration``,
  ``Request Id``, ``Response Value``, ...). Written by the HTTP process, which answers them.
- ``exception``: ``run()`` raising or timing out, ``init()`` failing; ``Request Id`` matches the
  request's record. azmlinfsrv logs it on ``azmlinfsrv.trace`` too (the tuple line in the log).
- ``trace``: records of the ``azmlinfsrv.print`` (the user's ``print()``) and ``azmlinfsrv.trace``
  loggers at INFO and above, the two loggers azmlinfsrv attaches its exporter to. The user's
  own ``logging`` calls on other loggers are not exported by 1.5.1, so they are not recorded.

Recording a request item reads its body: as in 1.5.1, a streamed answer (``AMLResponse``
wrapping a generator) is then produced whole before it is sent (see :meth:`TelemetryFile.record`).

Each worker and the HTTP process append whole lines with single ``O_APPEND`` writes, so their
records never interleave within a line.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from emulator.server.config import (
    APP_INSIGHTS_ENABLED,
    APP_INSIGHTS_KEY,
    WORKSPACE_NAME,
    ServerConfig,
)
from emulator.server.headers import RequestIds
from emulator.server.logs import server_log
from emulator.server.messages import HttpRequest, HttpResponse, error_response
from emulator.server.streaming import StreamBroken, StreamedResponse
from emulator.settings import emulator_root
from emulator.timing import time_scale

#: Seconds azmlinfsrv waits for the upload before a worker whose init() failed exits
#: (scaled by AZUREML_EMULATOR_TIME_SCALE: nothing is uploaded here).
UPLOAD_WAIT_SECONDS = 30
SUFFIX = ".telemetry.jsonl"
_BINARY_RESPONSE = "Scoring request response payload is a non serializable object or raw binary"
_EXPORTED_LOGGERS = ("azmlinfsrv.trace", "azmlinfsrv.print")
#: Werkzeug's InternalServerError text, which Flask answers when an after-request hook raises.
FLASK_INTERNAL_ERROR = (
    "The server encountered an internal error and was unable to complete your request. "
    "Either the server is overloaded or there is an error in the application."
)

trace_log = logging.getLogger("azmlinfsrv.trace")


def telemetry_path(log_path: Path) -> Path:
    """Where a replica logging to ``log_path`` records its telemetry (same folder and name)."""
    return log_path.with_name(log_path.stem + SUFFIX)


def default_file() -> str:
    """``amlemu serve``'s file when none is set: one per server start, under the emulator root."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    folder = emulator_root() / "runtime" / "logs" / "serve"
    return str(folder / f"{stamp}-{os.getpid()}{SUFFIX}")


class Workspace(Protocol):
    """What identifies a workspace (``azureml.core.Workspace`` has these attributes)."""

    @property
    def subscription_id(self) -> str: ...
    @property
    def resource_group(self) -> str: ...
    @property
    def name(self) -> str: ...


def service_environment(workspace: Workspace) -> dict[str, str]:
    """What Azure sets in a service's containers for ``enable_app_insights=True``.

    The switch, the workspace's Application Insights instrumentation key (here a UUID derived
    from the workspace: stable, and never a real resource's) and the workspace's name, which
    azmlinfsrv adds to every item.
    """
    seed = (
        f"amlemu:/subscriptions/{workspace.subscription_id}/resourceGroups/"
        f"{workspace.resource_group}/workspaces/{workspace.name}"
    )
    return {
        APP_INSIGHTS_ENABLED: "true",
        APP_INSIGHTS_KEY: str(uuid.uuid5(uuid.NAMESPACE_URL, seed)),
        WORKSPACE_NAME: workspace.name,
    }


class TelemetryFile:
    """Appends records to one JSON-lines file; a write that fails is logged, never raised."""

    def __init__(self, path: str, config: ServerConfig) -> None:
        self.path = path
        self._config = config
        self._broken = False

    def write(self, kind: str, fields: Mapping[str, Any], when: float | None = None) -> None:
        record = {"type": kind, "time": _iso(time.time() if when is None else when), **fields}
        line = (json.dumps(record, default=str) + "\n").encode()
        if self._broken:
            return
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as exc:
            self._broken = True  # one error line, not one per record
            trace_log.error("Error logging to Application Insights:", exc_info=exc)

    def dimensions(self) -> dict[str, str]:
        """The custom dimensions azmlinfsrv adds to every item."""
        return {
            "Container Id": os.environ.get("HOSTNAME", "Unknown"),
            "Workspace Name": self._config.workspace_name,
            "Service Name": self._config.service_name,
        }

    async def record(
        self,
        request: HttpRequest,
        response: HttpResponse,
        ids: RequestIds,
        started: float,
        route_headers: list[tuple[str, str]],
    ) -> HttpResponse:
        """Record the request item, the way azmlinfsrv builds it after the response.

        Reading the response's text for the item consumes a streamed body first (werkzeug's
        ``get_data``), so with Application Insights on, azmlinfsrv 1.5.1 sends a streaming
        ``run()``'s answer whole, ``Content-Length`` last; a generator that raises turns it into
        Flask's 500 (measured: ``infsrv-appinsights-stream-enabled.txt``). The answer to send is
        returned. ``route_headers`` are the request-id/CORS headers for that 500.
        """
        if isinstance(response, StreamedResponse):
            response = await self._read_whole(request, response, started, route_headers)
        self.request(request, response, ids.request_id, ids.client_id, started)
        return response

    async def _read_whole(
        self,
        request: HttpRequest,
        response: StreamedResponse,
        started: float,
        route_headers: list[tuple[str, str]],
    ) -> HttpResponse:
        chunks = []
        try:
            while (chunk := await response.chunks.next()) is not None:
                chunks.append(chunk)
        except StreamBroken as exc:
            sys.stderr.write(
                "ERROR:azureml_inference_server_http.server.create_app:Exception on "
                f"{request.path} [{request.method}]\n[emulator] the body could not be read for "
                f"Application Insights: {exc}\n"
            )
            sys.stderr.flush()
            failed = error_response(500, FLASK_INTERNAL_ERROR)
            failed.headers.extend(route_headers)
            elapsed = (time.perf_counter() - started) * 1000
            target = f"{request.path}?{request.query}" if request.query else request.path
            server_log.info(f"{request.method} {target} 500 {elapsed:0.3f}ms {len(failed.body)}")
            return failed
        body = b"".join(chunks)
        headers = [(k, v) for k, v in response.headers if k.lower() != "content-length"]
        return HttpResponse(
            response.status, [*headers, ("Content-Length", str(len(body)))], body, response.reason
        )

    def request(
        self,
        request: HttpRequest,
        response: HttpResponse,
        request_id: str,
        client_request_id: str,
        started: float,
    ) -> None:
        """One answered request; ``started`` is its ``time.perf_counter()`` at arrival."""
        duration_ms = (time.perf_counter() - started) * 1000
        host = request.header("Host") or f"{request.server[0]}:{request.server[1]}"
        self.write(
            "request",
            {
                **self.dimensions(),
                "Request Id": request_id,
                "Client Request Id": client_request_id,
                "Response Value": self._response_value(response),
                "name": request.path,
                "url": f"http://{host}{request.target}",
                "duration": format_duration(duration_ms),
                "resultCode": str(response.status),
                "success": response.status < 400,
                "http_method": request.method,
            },
            when=time.time() - duration_ms / 1000,
        )

    def _response_value(self, response: HttpResponse) -> str | None:
        if not self._config.app_insights_log_response:
            return None
        try:
            return response.body.decode("utf-8")
        except UnicodeDecodeError:
            return json.dumps(_BINARY_RESPONSE)


class _TelemetryHandler(logging.Handler):
    """The exporter's logging handler: records become ``trace`` or ``exception`` items."""

    def __init__(self, target: TelemetryFile) -> None:
        super().__init__(logging.INFO)
        self.target = target

    def emit(self, record: logging.LogRecord) -> None:
        fields: dict[str, Any] = {
            **self.target.dimensions(),
            "logger": record.name,
            "severity": record.levelname,
            "message": record.getMessage(),
            "process": record.process,
        }
        fields.update(getattr(record, "custom_dimensions", {}))
        if record.exc_info and record.exc_info[1] is not None:
            fields["exception"] = "".join(logging.Formatter().formatException(record.exc_info))
            self.target.write("exception", fields, when=record.created)
        else:
            self.target.write("trace", fields, when=record.created)


def open_file(config: ServerConfig) -> TelemetryFile | None:
    """The HTTP process's recorder, or None when Application Insights is off."""
    if not (config.app_insights_enabled and config.telemetry_file):
        return None
    return TelemetryFile(config.telemetry_file, config)


def start_client(config: ServerConfig) -> None:
    """A worker's "app insights client": attach the recorder to the exported loggers."""
    target = open_file(config)
    if target is None:
        return
    trace_log.info(
        f"[emulator] Application Insights telemetry is recorded in {target.path} (nothing is sent)"
    )
    handler = _TelemetryHandler(target)
    for name in _EXPORTED_LOGGERS:
        logging.getLogger(name).addHandler(handler)


def enabled() -> bool:
    """Whether this process's client was started (its handler is on ``azmlinfsrv.trace``)."""
    return any(isinstance(handler, _TelemetryHandler) for handler in trace_log.handlers)


def send_exception(request: HttpRequest | None = None) -> None:
    """Export the exception being handled, as azmlinfsrv does (a logged ``exc_info`` tuple)."""
    if not enabled():
        return
    request_id, client_request_id = request.request_ids if request else ("Unknown", "")
    dimensions = {"Request Id": request_id, "Client Request Id": client_request_id}
    trace_log.exception(str(sys.exc_info()), extra={"custom_dimensions": dimensions})


def wait_for_upload() -> None:
    """azmlinfsrv's pause before a failed worker exits, so the exception gets uploaded."""
    if not enabled():
        return
    trace_log.info("Waiting for logs to be sent to Application Insights before exit.")
    trace_log.info(f"Waiting {UPLOAD_WAIT_SECONDS} seconds for upload.")
    time.sleep(UPLOAD_WAIT_SECONDS * time_scale())


def format_duration(duration_ms: float) -> str:
    """azmlinfsrv's request duration: ``[D.]HH:MM:SS.mmm``."""
    remaining = int(duration_ms)
    parts = []
    for multiplier in (1000, 60, 60, 24):
        parts.append(remaining % multiplier)
        remaining //= multiplier
    milliseconds, seconds, minutes, hours = parts
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}.{milliseconds:03d}"
    return f"{remaining}.{text}" if remaining else text


def _iso(timestamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.replace(tzinfo=None).isoformat() + "Z"
