"""A live status line for long SDK operations, when a person watches them in a terminal.

``Image.wait_for_creation(show_output=True)`` and ``Webservice.wait_for_deployment(
show_output=True)`` print plain lines, as the SDK does; that stays so wherever stdout is not a
terminal (CI logs, captured output, notebooks), byte for byte. In a terminal they add one line
at the bottom that shows the current phase and the elapsed seconds, rewritten in place with
``\\r`` several times a second; other output is printed above it.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from types import TracebackType
from typing import TextIO

#: Seconds between redraws of the elapsed time.
REFRESH_SECONDS = 0.2


def attached(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default: the current ``sys.stdout``) is a terminal."""
    stream = stream or sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


class StatusLine:
    """``<label>: <phase> (<elapsed> s)`` kept at the bottom of a terminal until closed.

    Use it as a context manager; :meth:`phase` changes the phase, :meth:`print` writes a line
    above it, and leaving the block leaves the final status on its own line.
    """

    def __init__(self, label: str, phase: str = "", stream: TextIO | None = None) -> None:
        self.label = label
        self._phase = phase
        self._stream = stream or sys.stdout
        self._started = time.monotonic()
        self._drawn = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="amlemu-progress", daemon=True)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def __enter__(self) -> StatusLine:
        self._draw()
        self._ticker.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._ticker.join()
        with self._lock:
            self._stream.write("\r")
            self._write_status()
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = 0

    def phase(self, text: str) -> None:
        """Show ``text`` as the current phase (redrawn at once when it changed)."""
        if text != self._phase:
            self._phase = text
            self._draw()

    def print(self, line: str) -> None:
        """Write ``line`` above the status line."""
        with self._lock:
            self._erase()
            self._stream.write(line + "\n")
            self._write_status()
            self._stream.flush()

    def render(self) -> str:
        """The status text, cut to the terminal's width so that ``\\r`` can rewrite it."""
        text = f"{self.label}: {self._phase} ({self.elapsed:.1f} s)"
        width = shutil.get_terminal_size().columns - 1
        return text if len(text) <= width else text[: max(0, width - 3)] + "..."

    def _tick(self) -> None:
        while not self._stop.wait(REFRESH_SECONDS):
            self._draw()

    def _draw(self) -> None:
        with self._lock:
            self._stream.write("\r")
            self._write_status()
            self._stream.flush()

    def _write_status(self) -> None:
        text = self.render()
        self._stream.write(text + " " * max(0, self._drawn - len(text)))
        self._drawn = len(text)

    def _erase(self) -> None:
        self._stream.write("\r" + " " * self._drawn + "\r")
        self._drawn = 0
