"""One replica of a no-code Triton deployment: the V2 HTTP server over the model repository that
the image lays out, where azmlinfsrv would serve ``/score``.

Azure runs a ``triton_model`` deployment on its Triton image, whose container starts
``tritonserver`` on the model repository instead of the inference server. The emulator's images
start ``python -m emulator serve``; :func:`emulator.server.main.run_server` hands over to
:func:`serve_repository` when the replica's environment names the repository
(:data:`~emulator.server.triton.REPOSITORY_ENV`, relative to ``AZUREML_MODEL_DIR``). It binds
the replica's port (``SERVER_PORT``) on loopback, prints Triton's load log (what ``get_logs``
shows), answers every route of :class:`~emulator.server.triton.app.TritonServer` (the probes
ask ``/v2/health/live`` and ``/v2/health/ready``) and stops on SIGTERM. A repository Triton would
refuse ends the run with exit code 1 and Triton's ``error: creating server`` line, so the
deployment fails as Azure's does: its container crashes, and the log's tail says why.

Inference runs in a thread of this process (ONNX Runtime releases the GIL), several requests at
once as the gateway admits them (``max_concurrent_requests_per_instance``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

from emulator.server.config import DEFAULT_PORT, HOST, SERVER_PORT
from emulator.server.main import bind
from emulator.server.messages import HttpRequest, HttpResponse
from emulator.server.protocol import HttpProtocol
from emulator.server.triton import MODEL_DIR_ENV, REPOSITORY_ENV
from emulator.server.triton.app import TritonServer
from emulator.server.triton.repository import RepositoryError

#: The exit code of a run whose repository did not load (tritonserver's).
LOAD_FAILED = 1


def repository_of(environ: Mapping[str, str]) -> Path:
    """The model repository a replica serves: ``$AZUREML_MODEL_DIR/$<REPOSITORY_ENV>``."""
    return Path(environ.get(MODEL_DIR_ENV, ".")) / environ[REPOSITORY_ENV]


def serve_repository(environ: Mapping[str, str]) -> int:
    """Load the repository ``environ`` names and serve it until SIGTERM/SIGINT (exit 0); exit
    :data:`LOAD_FAILED` when Triton would not load it."""
    repository = repository_of(environ)
    try:
        server = TritonServer(repository)
    except (RepositoryError, OSError) as exc:
        print(f"failed to load the model repository {repository}: {exc}", file=sys.stderr)
        print("error: creating server: Internal - failed to load all models", file=sys.stderr)
        return LOAD_FAILED
    for line in server.log_lines:
        print(line, flush=True)
    port = int(environ.get(SERVER_PORT) or DEFAULT_PORT)
    return asyncio.run(_serve(server, port))


async def _serve(server: TritonServer, port: int) -> int:
    loop = asyncio.get_running_loop()
    sock = bind(port)
    print(f"Started HTTPService at {HOST}:{sock.getsockname()[1]} ({os.getpid()})", flush=True)
    stopped = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)

    async def handle(request: HttpRequest) -> HttpResponse:
        headers = dict(request.headers)
        status, answer_headers, body = await asyncio.to_thread(
            server, request.method, request.path, headers, request.body
        )
        return HttpResponse(status, answer_headers, body)

    connections: set[HttpProtocol] = set()
    listening = await loop.create_server(lambda: HttpProtocol(handle, connections), sock=sock)
    await stopped.wait()
    listening.close()
    for connection in list(connections):
        connection.close()
    print("Stopping HTTPService", flush=True)
    return 0
