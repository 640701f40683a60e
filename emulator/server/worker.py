"""A worker process: loads the entry script, runs ``init()`` once, then serves ``run()`` calls.

Started by the HTTP process as ``python -u -m emulator.server.worker FD`` with one end of a
socket pair; requests arrive one at a time as :class:`HttpRequest` frames and leave as
:class:`HttpResponse` frames, or, when ``run()`` returns a response wrapping a generator, as a
head, one frame per item as it is yielded and an end frame (:mod:`emulator.server.streaming`).
It boots like an azmlinfsrv worker (same log lines, exit code 3 when the script cannot be loaded
or ``init()`` raises) and answers like its ``/score`` route.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
import socket
import sys
import traceback
from collections import deque
from types import FrameType
from typing import TYPE_CHECKING

from emulator.server import ipc, telemetry
from emulator.server.config import ConfigError, ServerConfig
from emulator.server.inputs import InputError, UnsupportedMethod, request_headers, run_arguments
from emulator.server.logs import configure_logging, master_log, redirect_print, tree_lines
from emulator.server.messages import HTML, INTERNAL_ERROR, HttpRequest, HttpResponse, error_response
from emulator.server.serialization import is_streamed, response_head, to_response
from emulator.server.streaming import StopStream, StreamChunk, StreamEnd, StreamHead
from emulator.server.swagger import build_documents
from emulator.server.user_script import (
    UserScript,
    UserScriptError,
    UserScriptException,
    UserScriptTimeout,
    load_user_script,
)

if TYPE_CHECKING:  # Werkzeug is imported only by scripts that use it (AMLResponse, Flask)
    from werkzeug.wrappers import Response

BOOT_FAILED = 3
_TREE_LIMIT = 200
_RUN_FAILED = "An unexpected error occurred in scoring script. Check the logs for more info."
_END = object()

logger = logging.getLogger("azmlinfsrv")


def main(argv: list[str]) -> int:
    """Boot, then serve until the HTTP process closes the pair (exit 0) or boot fails (3)."""
    channel = socket.socket(fileno=int(argv[1]))
    configure_logging()
    signal.signal(signal.SIGTERM, _exit_on_term)
    # Ctrl-C reaches the whole process group; the HTTP process decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    master_log.info(f"Booting worker with pid: {os.getpid()}")
    try:
        config = ServerConfig.from_env(os.environ)
    except ConfigError as exc:
        logger.critical(str(exc))
        return BOOT_FAILED
    print("Initializing logger")  # printed raw, before print() is redirected, as azmlinfsrv
    redirect_print()
    logger.info("Starting up app insights client")
    _prepare_imports(config)
    if not (config.model_dir and os.path.exists(config.model_dir)):
        logging.getLogger("azmlinfsrv.trace").warning(
            f"Model directory is not set or does not exist: {config.model_dir or ''}"
        )
    telemetry.start_client(config)
    if config.cors_origins:
        logger.info(f"Enabling CORS for the following origins: {', '.join(config.cors_origins)}")
    script = _boot(config)
    if script is None:
        master_log.info(f"Worker exiting (pid: {os.getpid()})")  # gunicorn's, as the worker ends
        return BOOT_FAILED
    documents = build_documents(script.run, config)
    logger.info(f"Scoring timeout is set to {config.scoring_timeout_ms}")
    logger.info(f"Worker with pid {os.getpid()} ready for serving traffic")
    ipc.send(channel, {"pid": os.getpid(), "swagger": documents})
    inbox = _Inbox(channel)
    while (received := inbox.next_request()) is not None:
        serial, request = received
        answer = score(script, request, config.scoring_timeout_ms)
        if isinstance(answer, HttpResponse):
            ipc.send(channel, answer)
        else:
            head, body = answer
            ipc.send(channel, StreamHead(head))
            _send_body(channel, inbox, serial, request, body)
    return 0


class _Inbox:
    """Frames from the HTTP process: requests (numbered as they arrive), and stops for the body
    being streamed. A request that arrives while a body streams waits here for its turn."""

    def __init__(self, channel: socket.socket) -> None:
        self._channel = channel
        self._requests: deque[tuple[int, HttpRequest]] = deque()
        self._received = 0
        self._stopped = 0
        self._closed = False

    def next_request(self) -> tuple[int, HttpRequest] | None:
        """The next request and its number; None once the HTTP process closed the pair."""
        while not self._requests and not self._closed:
            self._take(ipc.receive(self._channel))
        return self._requests.popleft() if self._requests else None

    def stop_requested(self, serial: int) -> bool:
        """Whether request ``serial``'s client went away (or the HTTP process did)."""
        while not self._closed and ipc.readable(self._channel):
            self._take(ipc.receive(self._channel))
        return self._closed or self._stopped == serial

    def _take(self, message: object) -> None:
        if message is None:
            self._closed = True
        elif isinstance(message, StopStream):
            self._stopped = message.serial
        else:
            assert isinstance(message, HttpRequest)
            self._received += 1
            self._requests.append((self._received, message))


def _send_body(
    channel: socket.socket, inbox: _Inbox, serial: int, request: HttpRequest, body: Response
) -> None:
    """Send each item of a streamed body as it is produced, until it ends, raises or the client
    goes away; then close it (the generator's ``finally`` runs) and send the end frame.

    The scoring timeout does not apply here: azmlinfsrv times ``run()`` only, and the HTTP
    process bounds the whole request by gunicorn's worker timeout instead.
    """
    items = body.iter_encoded()
    yielded = False
    failed = False
    try:
        while not inbox.stop_requested(serial):
            data = next(items, _END)
            if data is _END:
                break
            yielded = True
            if not isinstance(data, bytes):  # what gunicorn refuses to write
                raise TypeError(f"{data!r} is not a byte")
            try:
                ipc.send(channel, StreamChunk(data))
            except OSError:  # the HTTP process is gone: stop quietly, as with a lost client
                return
    except Exception:
        failed = True
        # gunicorn's words: with the request line when nothing was sent yet (it answers 500)
        where = "" if yielded else f" {request.method} {request.target}"
        master_log.exception(f"Error handling request{where}")
    finally:
        try:
            body.close()
        except Exception:
            master_log.exception("Error closing the response")
    with contextlib.suppress(OSError):
        ipc.send(channel, StreamEnd(failed))


def _exit_on_term(signum: int, frame: FrameType | None) -> None:
    master_log.info(f"Worker exiting (pid: {os.getpid()})")
    _exit(0)


def _exit(code: int) -> None:
    """Flush and leave at once: user threads left running must not keep the worker alive."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _prepare_imports(config: ServerConfig) -> None:
    """``azureml.*`` and ``azureml_inference_server_http.api.*`` (the module paths azmlinfsrv
    answers itself) through the emulator's shim, and the app on sys.path."""
    from emulator.shim import activate

    activate()
    sys.path.append(config.app_root)
    if config.source_dir:
        sys.path.append(os.path.join(config.app_root, config.source_dir))


def _boot(config: ServerConfig) -> UserScript | None:
    try:
        script = load_user_script(config.entry_script_path)
    except UserScriptError:
        logger.error(traceback.format_exc())
        return None
    try:
        script.invoke_init()
    except UserScriptException:
        logger.error("User's init function failed")
        logger.error(f"Encountered Exception {traceback.format_exc()}")
        telemetry.send_exception()
        if config.model_dir and os.path.exists(config.model_dir):
            logger.info("Model Directory Contents:")
            lines = tree_lines(config.model_dir)
            for line in itertools.islice(lines, _TREE_LIMIT):
                logger.info(line)
            if next(lines, None) is not None:
                logger.info(f"Output Truncated. First {_TREE_LIMIT} lines shown.")
        telemetry.wait_for_upload()
        return None
    return script


def score(
    script: UserScript, request: HttpRequest, timeout_ms: int
) -> HttpResponse | tuple[HttpResponse, Response]:
    """azmlinfsrv's ``/score`` handler for one request: the response, or for a streamed one its
    head and the response whose body is still to be produced."""
    try:
        arguments = run_arguments(script, request)
        output, elapsed_ms = script.invoke_run(arguments, request_headers(request), timeout_ms)
    except UnsupportedMethod as exc:
        if request.method == "OPTIONS":  # CORS headers are added by the HTTP process
            return HttpResponse(
                200,
                [
                    ("Content-Type", HTML),
                    ("Content-Length", "0"),
                    ("x-ms-run-function-failed", "False"),
                ],
            )
        return error_response(exc.status, str(exc))
    except InputError as exc:
        return error_response(exc.status, str(exc))
    except UserScriptTimeout as exc:
        telemetry.send_exception(request)
        logger.error(f"Encountered Exception: {traceback.format_exc()}")
        return error_response(500, f"Scoring timeout after {exc.timeout_ms} ms", run_failed=True)
    except UserScriptException:
        telemetry.send_exception(request)
        logger.error(f"Encountered Exception: {traceback.format_exc()}")
        return error_response(500, _RUN_FAILED, run_failed=True)
    except Exception:
        logger.error(f"Encountered Exception: {traceback.format_exc()}")
        return error_response(500, INTERNAL_ERROR)
    if is_streamed(output):
        head = response_head(output)
        head.headers.append(("x-ms-run-fn-exec-ms", f"{elapsed_ms:.3f}"))
        return head, output
    try:
        response = to_response(output)
    except Exception:
        logger.error(f"Encountered Exception: {traceback.format_exc()}")
        return error_response(500, INTERNAL_ERROR)
    response.headers.append(("x-ms-run-fn-exec-ms", f"{elapsed_ms:.3f}"))
    return response


if __name__ == "__main__":
    _exit(main(sys.argv))
