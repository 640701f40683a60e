"""The emulator's HTTPS server: the ARM face on loopback, in a thread of the hosting process.

Used three ways with the same code: by ``amlemu up`` (the long-running daemon), by ``amlemu run``
when no daemon runs (private to the script, for its lifetime) and by tests (a fresh root and a
free port each). It binds 127.0.0.1 only and serves with the root's local CA
(:mod:`emulator.daemon.ca`); requests are handled in threads, as the SDK polls while uploading.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from emulator.arm.app import ArmApplication
from emulator.arm.blob_responses import RAW_METADATA_KEY
from emulator.arm.identity import identity_secret
from emulator.arm.responses import ArmContext
from emulator.daemon import DaemonError
from emulator.daemon.ca import LocalCA
from emulator.store.root import EmulatorRoot

LOOPBACK = "127.0.0.1"


class _QuietHandlerLog(logging.Filter):
    """werkzeug logs every request at INFO; the ARM app logs its own line with the api-version."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO


logging.getLogger("werkzeug").addFilter(_QuietHandlerLog())


class _RequestHandler(WSGIRequestHandler):
    """werkzeug drops request headers whose names hold ``_``; blob metadata names may (the
    SDK's upload confirmation is ``x-ms-meta-upload_status``), so those are kept aside.

    ``TCP_NODELAY``: werkzeug writes an answer's head and body separately, and Nagle's
    algorithm would hold the body until the client acknowledges the head; with the client's
    delayed ACK that cost about 40 ms per request (measured on a scoring URI: p50 48-53 ms with
    it, 4-6 ms without). werkzeug's server also closes every connection after its answer
    (``Connection: close``): each request of a client pays a new TLS handshake."""

    disable_nagle_algorithm = True

    def make_environ(self) -> dict[str, object]:
        environ = super().make_environ()
        environ[RAW_METADATA_KEY] = [
            (key, value)
            for key, value in self.headers.items()
            if key.lower().startswith("x-ms-meta-")
        ]
        return environ


def _listening_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart on the same port
        sock.bind((LOOPBACK, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise DaemonError(
                f"Port {port} on {LOOPBACK} is in use. [emulator] Pass another port with "
                "--port, or --port 0 for any free one."
            ) from exc
        raise
    return sock


class EmulatorServer:
    """The ARM face of ``root`` served over HTTPS on ``127.0.0.1:port`` (0: any free port);
    ``strict_auth``: only bearer tokens the root's identity endpoint issued are accepted."""

    def __init__(self, root: EmulatorRoot, port: int = 0, strict_auth: bool = False) -> None:
        self.root = root
        self.ca = LocalCA.for_root(root.path)
        # Bound here, not by werkzeug: its make_server ends the process (sys.exit) on a busy port.
        with _listening_socket(port) as sock:
            self._server: BaseWSGIServer = make_server(
                LOOPBACK,
                port,
                ArmApplication(
                    ArmContext(root, "", identity_secret(root.path / "daemon")), strict_auth
                ),
                threaded=True,
                request_handler=_RequestHandler,
                ssl_context=self.ca.server_context(),
                fd=sock.fileno(),  # werkzeug duplicates the descriptor
            )
        self.port: int = self._server.socket.getsockname()[1]
        self.base_url = f"https://{LOOPBACK}:{self.port}"
        app = self._server.app
        assert isinstance(app, ArmApplication)
        app.context = ArmContext(root, self.base_url, app.context.identity_secret)
        self._thread: threading.Thread | None = None

    @property
    def identity_secret(self) -> str:
        app = self._server.app
        assert isinstance(app, ArmApplication)
        return app.context.identity_secret

    def start(self) -> EmulatorServer:
        """Serve in a daemon thread (returns at once)."""
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},  # how long stop() may wait for the loop to notice
            name=f"amlemu-arm-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
