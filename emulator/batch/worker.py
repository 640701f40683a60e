"""One batch worker: a process in the image's interpreter running the user's scoring script.

Started by :mod:`emulator.batch.workers` as ``python <the image's python
tree>/emulator/batch/worker.py SCRIPT IN OUT`` (``IN``/``OUT``: pipe file descriptors; the
process's stdout and stderr are the user's log files). It loads the script, calls ``init()``
once, then answers one JSON line per mini-batch: ``run(mini_batch)`` with the list of file
paths (strings), its return value turned into the rows Azure's ``append_row`` writes. It
imports only the standard library (pandas when ``run()`` returned a DataFrame, which then is
installed), so it runs in any image and starts in the time Python does.

Rows, as Azure's batch deployments write them (ParallelRunStep's ``append_row`` with its
default space delimiter, no header, no index): a pandas DataFrame's rows are
``DataFrame.to_csv(sep=" ", header=False, index=False)``'s lines; a list (or tuple, or an array
with ``tolist()``) gives one row per element, ``str(element)``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

#: How often a worker checks that the engine that started it still runs.
_PARENT_POLL_SECONDS = 0.5
#: The variable carrying the deployment's logging_level into the worker.
LOGGING_LEVEL_ENV = "AMLEMU_BATCH_LOGGING_LEVEL"


class ReturnTypeError(TypeError):
    """``run()`` returned something that is not rows."""


def rows_of(result: Any) -> list[str]:
    """The output rows of what ``run()`` returned (see the module docstring)."""
    kind = type(result)
    if kind.__module__.startswith("pandas") and kind.__name__ == "DataFrame":
        text: str = result.to_csv(sep=" ", header=False, index=False)
        return text.splitlines()
    if isinstance(result, list | tuple):
        return [str(element) for element in result]
    if callable(getattr(result, "tolist", None)) and not isinstance(result, str | bytes):
        listed = result.tolist()
        if isinstance(listed, list):
            return [str(element) for element in listed]
    raise ReturnTypeError(
        f"run() returned {kind.__name__}, not a pandas DataFrame or a list. Batch deployments "
        "write one output row per element of the list, or per row of the DataFrame, that "
        "run(mini_batch) returns: return a list (an empty one when there is nothing to write)."
    )


def _load(script: Path) -> ModuleType:
    sys.path.insert(0, str(script.parent))
    spec = importlib.util.spec_from_file_location(script.stem, script)
    if spec is None or spec.loader is None:
        raise ImportError(f"Cannot load the scoring script {script}.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[script.stem] = module
    spec.loader.exec_module(module)
    return module


def _function(module: ModuleType, name: str) -> Callable[..., Any]:
    function = getattr(module, name, None)
    if not callable(function):
        raise AttributeError(
            f"The scoring script {module.__file__} has no {name}() function. Batch deployments "
            "call init() once per worker and run(mini_batch) per mini-batch: define both."
        )
    return function


def _watch_parent() -> None:
    """End at once when the engine is gone (its pipes alone would wait for run() to return)."""
    parent = os.getppid()
    while True:
        time.sleep(_PARENT_POLL_SECONDS)
        if os.getppid() != parent:
            os._exit(1)


def _send(out: Any, message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def serve(script: Path, requests: Any, replies: Any) -> int:
    """Load ``script``, ``init()``, then answer mini-batches until the engine closes ``IN``."""
    level = os.environ.get(LOGGING_LEVEL_ENV, "info").upper()
    logging.basicConfig(level=getattr(logging, level, logging.INFO), stream=sys.stderr)
    try:
        module = _load(script)
        run = _function(module, "run")
        _function(module, "init")()
    except BaseException:  # init() may raise anything, SystemExit included
        _send(replies, {"event": "init_failed", "error": traceback.format_exc()})
        return 1
    _send(replies, {"event": "ready"})
    for line in requests:
        request = json.loads(line)
        try:
            rows = rows_of(run(list(request["files"])))
        except BaseException:
            sys.stderr.flush()
            _send(replies, {"id": request["id"], "ok": False, "error": traceback.format_exc()})
            continue
        sys.stdout.flush()
        _send(replies, {"id": request["id"], "ok": True, "rows": rows})
    return 0


def main(argv: list[str]) -> int:
    script, in_fd, out_fd = Path(argv[0]), int(argv[1]), int(argv[2])
    here = Path(__file__).resolve().parent
    if sys.path and Path(sys.path[0] or ".").resolve() == here:
        # Run as a file: its folder (settings.py, logs.py, ...) must not shadow user modules.
        del sys.path[0]
    threading.Thread(target=_watch_parent, name="amlemu-batch-parent", daemon=True).start()
    with (
        open(in_fd, encoding="utf-8") as requests,
        open(out_fd, "w", encoding="utf-8") as replies,
    ):
        return serve(script, requests, replies)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
