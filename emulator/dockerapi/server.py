"""The Docker API server: :class:`DockerApiApplication` on a Unix socket, in a thread.

A Unix socket, never TCP: Docker's own default transport, reachable only on this machine and,
in a directory only its owner can enter (mode 0700), only by this user. ``DOCKER_HOST`` is
``unix://<path>``. Two places for the socket:

- the root's daemon (``amlemu up``) serves :func:`daemon_socket`, a path derived from the root,
  so ``amlemu env`` and ``amlemu run`` find it without asking the daemon;
- a session of one program (``amlemu run`` without a daemon, ``emulator.activate()``) serves
  :func:`private_socket`, a fresh directory of its own, so two programs never collide.

Socket paths are limited to about 107 bytes; a root whose path is too long for its socket gets
one under the temporary directory, named from a hash of the root.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from emulator.dockerapi.app import DockerApiApplication
from emulator.exceptions import OperationFailed
from emulator.settings import DOCKER_ENGINE_ENV
from emulator.store.root import EmulatorRoot

#: docker-py's engine when ``DOCKER_HOST`` is unset.
DEFAULT_ENGINE = "unix:///var/run/docker.sock"
#: The longest socket path every platform accepts (sun_path is 104 to 108 bytes).
_MAX_SOCKET_PATH = 100
SOCKET_NAME = "docker.sock"


def daemon_socket(root: Path) -> Path:
    """Where the root's daemon serves its Docker API (a directory of mode 0700)."""
    directory = root.absolute() / "daemon"
    if len(str(directory / SOCKET_NAME)) > _MAX_SOCKET_PATH:
        digest = hashlib.sha256(str(root.absolute()).encode()).hexdigest()[:16]
        directory = Path(tempfile.gettempdir()) / f"amlemu-{os.getuid()}-{digest}"
    return directory / SOCKET_NAME


def private_socket() -> Path:
    """A socket path in a fresh private directory (removed by :meth:`DockerApiServer.stop`)."""
    return Path(tempfile.mkdtemp(prefix="amlemu-docker-")) / SOCKET_NAME


def docker_host(path: Path) -> str:
    """The ``DOCKER_HOST`` value for a socket."""
    return f"unix://{path}"


def client_variables(host: str, environ: Mapping[str, str]) -> dict[str, str]:
    """``DOCKER_HOST`` pointed at the emulator's Docker API, and the engine in force until then
    kept in ``AZUREML_EMULATOR_DOCKER_HOST`` for the emulator's own docker builder and runtime
    (docker-py's default socket when none was set)."""
    engine = environ.get(DOCKER_ENGINE_ENV) or environ.get("DOCKER_HOST") or DEFAULT_ENGINE
    if engine == host:  # already pointed at an emulator by an outer session
        engine = DEFAULT_ENGINE
    return {"DOCKER_HOST": host, DOCKER_ENGINE_ENV: engine}


def daemon_variables(root: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """:func:`client_variables` for the root's daemon, or nothing when it serves no Docker API."""
    path = daemon_socket(root)
    return client_variables(docker_host(path), environ) if serving(path) else {}


def serving(path: Path) -> bool:
    """Whether something accepts connections on the socket ``path``."""
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


class _RequestHandler(WSGIRequestHandler):
    """werkzeug logs every request to stderr; the application logs its own line instead."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class DockerApiServer:
    """The Docker Engine API of ``root`` on the Unix socket ``path`` (see the module docstring)."""

    def __init__(self, root: EmulatorRoot, path: Path) -> None:
        self.path = path
        self.app = DockerApiApplication(root)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _check_private(path.parent)
        if serving(path):
            raise OperationFailed(
                f"Another server already answers on {path}. [emulator] Stop it (amlemu down) "
                "or use another emulator root."
            )
        path.unlink(missing_ok=True)  # a dead server's socket file
        # Bound here, not by werkzeug: its make_server ends the process (sys.exit) on failure.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.bind(str(path))
            os.chmod(path, 0o600)
            sock.listen(64)
            self._server: BaseWSGIServer = make_server(
                f"unix://{path}",
                0,
                self.app,
                threaded=True,
                request_handler=_RequestHandler,
                fd=sock.fileno(),
            )
        self._thread: threading.Thread | None = None

    @property
    def docker_host(self) -> str:
        return docker_host(self.path)

    def start(self) -> DockerApiServer:
        """Serve in a daemon thread (returns at once)."""
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="amlemu-docker-api",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, stop every container, remove the socket (and a private directory)."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        self.app.close()
        self.path.unlink(missing_ok=True)
        if self.path.parent.name.startswith("amlemu-docker-"):
            with contextlib.suppress(OSError):
                self.path.parent.rmdir()

    def __enter__(self) -> DockerApiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _check_private(directory: Path) -> None:
    """The socket's directory must be this user's and closed to others."""
    info = directory.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise OperationFailed(
            f"{directory} is open to other users (or not yours): the Docker API socket would "
            f"let them run code as you. [emulator] chmod 700 {directory}, or remove it."
        )
