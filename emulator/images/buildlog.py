"""The build log: every step with its timing and output, the failing step last.

Lines go to a file (the image's ``image_build_log_uri`` points at it) and, when the user asked
for ``show_output``, to a listener as they are written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path


class BuildFailed(Exception):
    """A build step failed; ``step`` names it and ``message`` says what to fix."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step
        self.message = message


class BuildLog:
    """Append-only log file of one build, safe to write from several threads."""

    def __init__(self, path: Path, listener: Callable[[str], None] | None = None) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._listener = listener
        self._started = time.monotonic()
        path.write_text("", encoding="utf-8")

    @property
    def uri(self) -> str:
        """``file://`` URI of the log, as ``image_build_log_uri`` reports it."""
        return self.path.resolve().as_uri()

    def write(self, line: str) -> None:
        """Append one line (a trailing newline is added), stamped with elapsed seconds."""
        text = f"[{time.monotonic() - self._started:7.2f}s] {line.rstrip()}"
        with self._lock:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(text + "\n")
            if self._listener is not None:
                self._listener(text)

    def output(self, text: str) -> None:
        """Append a tool's output verbatim, indented under the current step."""
        for line in text.splitlines():
            self.write(f"    {line}")

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Log the start, the duration and the outcome of one step.

        A :class:`BuildFailed` raised inside is logged as the failing step and re-raised.
        """
        self.write(f"Step: {name}")
        started = time.monotonic()
        try:
            yield
        except BuildFailed as failure:
            self.write(f"FAILED step '{failure.step}' after {time.monotonic() - started:.2f}s")
            self.output(failure.message)
            raise
        except Exception as exc:
            self.write(f"FAILED step '{name}' after {time.monotonic() - started:.2f}s")
            self.output(f"{type(exc).__name__}: {exc}")
            raise BuildFailed(name, f"{type(exc).__name__}: {exc}") from exc
        self.write(f"Done: {name} ({time.monotonic() - started:.2f}s)")

    def header(self, title: str) -> None:
        self.write(f"{title} (started {datetime.now(timezone.utc).isoformat()})")
