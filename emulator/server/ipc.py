"""Length-prefixed pickle frames over the socket pair joining the HTTP process and a worker.

Pickle keeps it cheap (the values are small records of bytes and strings) and both ends run the
same emulator code; the socket never leaves the machine, it is created by the parent and
inherited by its own child only.
"""

from __future__ import annotations

import pickle
import select
import socket
import struct

_LENGTH = struct.Struct("!Q")
_SMALL = 1 << 16


def encode(message: object) -> bytes:
    """One frame: 8-byte big-endian length, then the pickled message."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


def send(sock: socket.socket, message: object) -> None:
    """Blocking send, used by the worker."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    if len(data) < _SMALL:
        sock.sendall(_LENGTH.pack(len(data)) + data)
    else:  # avoid copying large bodies once more just to prepend the length
        sock.sendall(_LENGTH.pack(len(data)))
        sock.sendall(data)


def receive(sock: socket.socket) -> object | None:
    """Blocking receive, used by the worker; None when the parent closed the pair."""
    header = _read_exactly(sock, _LENGTH.size)
    if header is None:
        return None
    (length,) = _LENGTH.unpack(header)
    data = _read_exactly(sock, length)
    if data is None:
        return None
    return pickle.loads(data)


def readable(sock: socket.socket) -> bool:
    """Whether a frame (or the parent's close) is waiting, without blocking: a worker sending a
    streamed body looks between chunks for a stop."""
    ready, _, _ = select.select([sock], [], [], 0)
    return bool(ready)


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    buffer = bytearray(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        try:
            count = sock.recv_into(view[received:])
        except ConnectionResetError:  # the parent died with our frames unread: closed as well
            return None
        if count == 0:
            return None
        received += count
    return bytes(buffer)


class Decoder:
    """Incremental receive, used by the HTTP process: bytes in, complete messages out."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[object]:
        self._buffer += data
        messages = []
        while len(self._buffer) >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(self._buffer)
            end = _LENGTH.size + length
            if len(self._buffer) < end:
                break
            messages.append(pickle.loads(self._buffer[_LENGTH.size : end]))
            del self._buffer[:end]
        return messages
