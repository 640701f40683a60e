"""A loopback port reserved for one replica for as long as the replica exists.

Picking a free port and closing it before the server binds lets another process take it in
between (parallel test runs do), and a restarted replica must get its port back after its old
server died. So the port stays *bound* by this process, but not listening: the scoring server
binds it with ``SO_REUSEADDR`` (allowed while no socket listens on it, on Linux), while the
kernel never hands a bound port to another ``bind(port 0)`` or outgoing connection. Docker runs
with host networking, so containers bind the same way.
"""

from __future__ import annotations

import socket
import threading

from emulator.exceptions import OperationFailed

HOST = "127.0.0.1"


class PortReservation:
    """A port on 127.0.0.1 that no one else is given until :meth:`release`."""

    def __init__(self) -> None:
        self._socket: socket.socket | None = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind((HOST, 0))
        except OSError:
            self._socket.close()
            raise
        self.port: int = self._socket.getsockname()[1]

    def release(self) -> None:
        """Give the port back (idempotent)."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __repr__(self) -> str:
        held = "held" if self._socket is not None else "released"
        return f"PortReservation({HOST}:{self.port}, {held})"


_CLAIMED_LOCK = threading.Lock()
_CLAIMED: dict[int, str] = {}


class FixedPorts:
    """The ports a custom container's image listens on itself (host networking: the host's
    ports), claimed for one replica of this process. They cannot be reserved as
    :class:`PortReservation` does (the image binds them without knowing of a reservation), so
    the claim checks that nothing listens on them now and that no other replica of this process
    holds them; a clash raises :class:`~emulator.exceptions.OperationFailed` naming the port."""

    def __init__(self, ports: tuple[int, ...], owner: str) -> None:
        self.ports = ports
        with _CLAIMED_LOCK:
            for port in ports:
                holder = _CLAIMED.get(port)
                if holder is not None:
                    raise OperationFailed(_busy(port, owner, f"replica {holder} of this process"))
                if _listening(port):
                    raise OperationFailed(_busy(port, owner, "another program"))
            for port in ports:
                _CLAIMED[port] = owner
        self._owner: str | None = owner
        self.port = ports[0] if ports else 0

    def release(self) -> None:
        """Give the ports back (idempotent)."""
        with _CLAIMED_LOCK:
            if self._owner is None:
                return
            for port in self.ports:
                if _CLAIMED.get(port) == self._owner:
                    del _CLAIMED[port]
            self._owner = None


def _listening(port: int) -> bool:
    """Whether a socket listens on ``port`` of loopback or of every address (a bind with
    ``SO_REUSEADDR`` fails only then; nothing is listened on)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((HOST, port))
    except OSError:
        return True
    finally:
        probe.close()
    return False


def _busy(port: int, owner: str, holder: str) -> str:
    return (
        f"Port {port} of custom container {owner} is in use by {holder}. [emulator] Replicas "
        "run with the host's network (Docker's bridge is off), so each port of an image's "
        "inference_config can serve one replica on this machine at a time: stop what listens "
        "on it, or give the image another port (a variable of environment_variables it reads)."
    )
