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
