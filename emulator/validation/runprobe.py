"""Run inside the scoring environment: load the entry script, init(), score, and measure.

``python -m emulator.validation.runprobe PLAN EVENTS`` boots like a scoring worker (same
imports, same loader, same ``run()`` argument rules, same serialization: the server's modules
are used, not copied) and appends one JSON line per phase to ``EVENTS``, so a crash or a kill
still leaves what happened before it. Each event carries wall and CPU milliseconds and the peak
resident memory so far. ``PLAN``: ``samples`` (base64 bodies and content types), ``malformed``
(bodies a client could send by mistake), ``calls``/``seconds`` (keep scoring the samples in turn
until that many calls or seconds, for profiling) and ``trace`` (watch for exception texts that
end up in a 200 answer).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import resource
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any

from emulator.server.config import ServerConfig
from emulator.server.inputs import InputError, request_headers, run_arguments
from emulator.server.logs import configure_logging
from emulator.server.messages import HttpRequest
from emulator.server.serialization import to_response
from emulator.server.user_script import (
    UserScript,
    UserScriptError,
    UserScriptException,
    UserScriptTimeout,
    load_user_script,
)
from emulator.server.worker import _prepare_imports

BODY_LIMIT = 64 * 1024
_TRACE_LIMIT = 8000
_MIN_LEAK = 3  # shorter exception texts ("0", "'a'"...) match too much by chance


def peak_rss_bytes() -> int:
    """Peak resident memory of this process and its (waited-for) children.

    Linux carries ``ru_maxrss`` across ``exec``: a probe started from a large process (a
    notebook, a pytest worker) would report its parent's peak. ``VmHWM`` counts this program's
    own pages only, so it is read first; ``ru_maxrss`` is the fallback elsewhere.
    """
    scale = 1 if sys.platform == "darwin" else 1024
    own = _own_peak_kib()
    if own is None:
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) * scale


def _own_peak_kib() -> int | None:
    """``VmHWM`` of ``/proc/self/status`` in KiB, or ``None`` where there is no ``/proc``."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def current_rss_bytes() -> int:
    """Resident memory now (``/proc``), else the peak so far where ``/proc`` is missing."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return peak_rss_bytes()


class _Stopwatch:
    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def lap(self) -> dict[str, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        lap = {"wallMs": (wall - self._wall) * 1000, "cpuMs": (cpu - self._cpu) * 1000}
        self._wall, self._cpu = wall, cpu
        return {**lap, "peakRss": peak_rss_bytes()}


class ExceptionWatch:
    """Collects the texts of exceptions raised in (or passing through) the user's frames."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.messages: list[str] = []

    def __enter__(self) -> ExceptionWatch:
        sys.settrace(self._call)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        sys.settrace(None)

    def _call(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if frame.f_code.co_filename.startswith(self.prefix):
            frame.f_trace_lines = False
            return self._local
        return None

    def _local(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any]:
        if event == "exception":
            text = str(arg[1])
            if len(text.strip()) >= _MIN_LEAK and text not in self.messages:
                self.messages.append(text)
        return self._local

    def leaked_into(self, body: str) -> list[str]:
        return [m for m in self.messages if m in body or json.dumps(m)[1:-1] in body]


def score(
    script: UserScript, body: bytes, content_type: str, timeout_ms: int, watch: str | None
) -> dict[str, Any]:
    """One POST /score as the worker answers it, classified and timed."""
    request = HttpRequest(
        "POST",
        "/score",
        "/score",
        "",
        (("Content-Type", content_type), ("Content-Length", str(len(body)))),
        body,
    )
    try:
        arguments = run_arguments(script, request)
    except InputError as exc:
        return {"status": exc.status, "kind": "input", "error": str(exc), "wallMs": 0, "cpuMs": 0}
    except Exception as exc:  # the worker's "unexpected internal error" 500
        error = f"{type(exc).__name__}: {exc}"
        return {"status": 500, "kind": "internal", "error": error, "wallMs": 0, "cpuMs": 0}
    watcher = ExceptionWatch(watch) if watch else None
    stopwatch = _Stopwatch()
    result: dict[str, Any]
    try:
        with watcher if watcher is not None else contextlib.nullcontext():
            output, _ = script.invoke_run(arguments, request_headers(request), timeout_ms)
    except UserScriptTimeout:
        result = {"status": 500, "kind": "timeout", "error": f"timed out after {timeout_ms} ms"}
    except UserScriptException as exc:
        result = {"status": 500, "kind": "exception", "error": _traceback(exc.__cause__)}
    else:
        try:
            response = to_response(output)
        except Exception as exc:
            result = {
                "status": 500,
                "kind": "serialization",
                "error": f"{type(exc).__name__}: {exc}",
                "outputType": type(output).__name__,
            }
        else:
            text = response.body[:BODY_LIMIT].decode("utf-8", "replace")
            result = {"status": response.status, "kind": "ok", "body": text}
            if watcher is not None:
                result["leaked"] = watcher.leaked_into(text)
    result.update(stopwatch.lap())
    return result


def _traceback(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return text[-_TRACE_LIMIT:]


def main(argv: list[str]) -> int:
    plan = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    with open(argv[2], "a", encoding="utf-8") as events:
        return _probe(plan, events)


def _probe(plan: dict[str, Any], events: IO[str]) -> int:
    def emit(phase: str, **fields: Any) -> None:
        events.write(json.dumps({"phase": phase, **fields}) + "\n")
        events.flush()

    configure_logging()
    config = ServerConfig.from_env(os.environ)
    _prepare_imports(config)
    stopwatch = _Stopwatch()
    emit("start", peakRss=peak_rss_bytes(), rss=current_rss_bytes())
    try:
        script = load_user_script(config.entry_script_path)
    except UserScriptException as exc:
        emit("load", ok=False, kind="exception", error=_traceback(exc.__cause__), **stopwatch.lap())
        return 0
    except UserScriptError as exc:
        emit("load", ok=False, kind="rejected", error=str(exc), **stopwatch.lap())
        return 0
    emit("load", ok=True, mode=script.mode, **stopwatch.lap())
    try:
        script.invoke_init()
    except UserScriptException as exc:
        emit("init", ok=False, kind="exception", error=_traceback(exc.__cause__), **stopwatch.lap())
        return 0
    emit("init", ok=True, **stopwatch.lap())
    timeout_ms = config.scoring_timeout_ms
    watch = os.path.join(config.app_root, "") if plan.get("trace") else None
    samples = [(base64.b64decode(s["body"]), s["contentType"]) for s in plan["samples"]]
    started = time.monotonic()
    calls = 0
    while samples:
        for index, (body, content_type) in enumerate(samples):
            result = score(script, body, content_type, timeout_ms, None)
            if watch and result["status"] == 200:
                traced = score(script, body, content_type, timeout_ms, watch)
                result["leaked"] = traced.get("leaked", [])
            if calls >= len(samples):
                result.pop("body", None)
            emit("sample", index=index, **result)
            calls += 1
        if calls >= plan.get("calls", 0) or time.monotonic() - started >= plan.get("seconds", 0):
            break
    for index, encoded in enumerate(plan.get("malformed", [])):
        result = score(script, base64.b64decode(encoded), "application/json", timeout_ms, watch)
        emit("malformed", index=index, **result)
    emit("done", peakRss=peak_rss_bytes())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
