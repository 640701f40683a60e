"""The emulator's HTTPS server: the ARM face on loopback, in a thread of the hosting process.

Used three ways with the same code: by ``amlemu up`` (the long-running daemon), by ``amlemu run``
when no daemon runs (private to the script, for its lifetime) and by tests (a fresh root and a
free port each). It binds 127.0.0.1 only and serves with the root's local CA
(:mod:`emulator.daemon.ca`); requests are handled in threads, as the SDK polls while uploading,
by :class:`~emulator.daemon.http_server.KeepAliveServer`: a client's connection (and its TLS
session) serves all its requests.
"""

from __future__ import annotations

import errno
import socket
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

from emulator.arm.app import ArmApplication
from emulator.arm.blob_responses import RAW_METADATA_KEY
from emulator.arm.identity import identity_secret
from emulator.arm.responses import ArmContext
from emulator.daemon import DaemonError
from emulator.daemon.ca import LocalCA
from emulator.daemon.handover import HandoverApplication
from emulator.daemon.http_body import RequestBody
from emulator.daemon.http_server import KeepAliveServer, WSGIRequestHandler
from emulator.store.root import EmulatorRoot

if TYPE_CHECKING:  # the v1 faces and services: loaded by the daemon only
    from emulator.daemon.v1_services import V1Services

LOOPBACK = "127.0.0.1"


class _RequestHandler(WSGIRequestHandler):
    """The environ leaves out request headers whose names hold ``_``; blob metadata names may
    (the SDK's upload confirmation is ``x-ms-meta-upload_status``), so those are kept aside."""

    def make_environ(self, body: RequestBody, chunked: bool) -> dict[str, Any]:
        environ = super().make_environ(body, chunked)
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


def can_bind(port: int) -> bool:
    """Whether a server could bind ``port`` on loopback: probed as :func:`_listening_socket`
    binds (``SO_REUSEADDR``), so the last run's connections still in TIME_WAIT do not count as
    the port being taken (the daemon's port, and a restored service's)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


class EmulatorServer:
    """The ARM face of ``root`` served over HTTPS on ``127.0.0.1:port`` (0: any free port);
    ``strict_auth``: only bearer tokens the root's identity endpoint issued are accepted."""

    def __init__(
        self,
        root: EmulatorRoot,
        port: int = 0,
        strict_auth: bool = False,
        v1_services: V1Services | None = None,
    ) -> None:
        """``v1_services``: the daemon's, which then takes SDK v1 deployments handed over by
        other processes (:mod:`emulator.daemon.handover`)."""
        self.root = root
        self.ca = LocalCA.for_root(root.path)
        self._arm = ArmApplication(
            ArmContext(root, "", identity_secret(root.path / "daemon")), strict_auth
        )
        self._server = KeepAliveServer(
            _listening_socket(port),
            self._arm if v1_services is None else HandoverApplication(self._arm, v1_services),
            ssl_context=self.ca.server_context(),
            handler=_RequestHandler,
        )
        self.port: int = self._server.server_address[1]
        self.base_url = f"https://{LOOPBACK}:{self.port}"
        self._arm.context = ArmContext(root, self.base_url, self._arm.context.identity_secret)
        self._thread: threading.Thread | None = None

    @property
    def identity_secret(self) -> str:
        return self._arm.context.identity_secret

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
        """Stop serving, close the connections (idle ones at once, busy ones after their
        answer) and the listening socket."""
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
