"""The entry script: loading it by path, checking ``run()``'s signature, calling ``init``/``run``.

The rules are azmlinfsrv's: the script is imported as module ``entry_module`` (``import main``
without one); ``init`` and ``run`` must exist; a ``driver_module`` with a ``run`` supplies the
real ``run``; ``run`` may not take ``*args``, ``**kwargs`` or positional-only parameters and needs
one data parameter besides ``request_headers``. The calling convention follows from decorators:
``@rawhttp`` (the request object), inference-schema's ``@input_schema`` (one keyword per
parameter), or none (the body as text).
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import logging
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType, ModuleType
from typing import Any, Literal

from emulator.server.raw_http import raw_http_requested

logger = logging.getLogger("azmlinfsrv.user_script")

Mode = Literal["raw", "schema", "json"]


class UserScriptError(Exception):
    """The entry script cannot be served (azmlinfsrv's worker exits with code 3)."""


class UserScriptException(UserScriptError):
    """The user's code raised; the original exception is the ``__cause__``."""

    def __init__(self, message: str = "Caught an unhandled exception from the user script"):
        super().__init__(message)


class UserScriptTimeout(UserScriptError):
    """``run()`` did not finish within ``SCORING_TIMEOUT_MS``."""

    def __init__(self, timeout_ms: int):
        super().__init__(
            f"Script failed to finish execution within the allocated time: {timeout_ms}ms"
        )
        self.timeout_ms = timeout_ms


@dataclass(frozen=True)
class UserScript:
    """A loaded entry script and how its ``run()`` must be called."""

    init: Callable[[], object]
    run: Callable[..., object]
    mode: Mode
    parameters: tuple[inspect.Parameter, ...]
    wants_headers: bool

    def invoke_init(self) -> None:
        logger.info("Invoking user's init function")
        try:
            self.init()
        except BaseException as exc:
            raise UserScriptException() from exc
        logger.info("Users's init has completed successfully")  # sic, as azmlinfsrv logs it

    def invoke_run(
        self, arguments: dict[str, Any], headers: dict[str, str], timeout_ms: int
    ) -> tuple[object, float]:
        """``run()``'s output and its duration in ms; user exceptions are wrapped."""
        if self.wants_headers:
            arguments = {**arguments, "request_headers": headers}
        started = time.perf_counter()
        try:
            with _alarm(timeout_ms):
                output = self.run(**arguments)
        except TimeoutError:
            raise UserScriptTimeout(timeout_ms) from None
        except Exception as exc:
            raise UserScriptException() from exc
        return output, (time.perf_counter() - started) * 1000


def load_user_script(path: str | None) -> UserScript:
    """Import the entry script (``import main`` when there is none) and analyse its ``run()``."""
    try:
        module = _import(path)
    except BaseException as exc:
        raise UserScriptException(
            "Failed to import user script because it raised an unhandled exception"
        ) from exc
    for name in ("init", "run"):
        if not hasattr(module, name):
            raise UserScriptError(
                f"User script at {module.__file__} does not have a {name}() function defined."
            )
    driver = getattr(module, "driver_module", None)
    if isinstance(driver, ModuleType) and hasattr(driver, "run"):
        run = driver.run
        logger.info(
            f"Found driver script at {module.__file__} and the score script at {driver.__file__}"
        )
    else:
        run = module.run
        logger.info(f"Found user script at {module.__file__}")
    return _analyse(module.init, run)


def _import(path: str | None) -> ModuleType:
    if path is None:
        import main  # azmlinfsrv's fallback: a main.py on sys.path

        return main
    spec = importlib.util.spec_from_file_location("entry_module", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"No such file or directory: '{path}'")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _analyse(init: Callable[[], object], run: Callable[..., object]) -> UserScript:
    parameters = list(inspect.signature(run).parameters.values())
    allowed = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(parameter.kind not in allowed for parameter in parameters):
        raise UserScriptError("run() cannot accept positional-only arguments, *args, or **kwargs.")
    wants_headers = any(parameter.name == "request_headers" for parameter in parameters)
    data = tuple(parameter for parameter in parameters if parameter.name != "request_headers")
    if not data:
        if wants_headers:
            raise UserScriptError('run() needs to accept an argument other than "request_headers".')
        raise UserScriptError("run() needs to accept an argument for input data.")
    schema = is_schema_decorated(run)
    if raw_http_requested() and schema:
        raise UserScriptError("run() cannot be decorated with both @rawhttp and @input_schema")
    mode: Mode
    if raw_http_requested():
        mode = "raw"
        logger.info(
            "run() is decorated with @rawhttp. Server will invoke it with the flask request object."
        )
    elif schema:
        mode = "schema"
        logger.info(
            "run() is decorated with @input_schema. Server will invoke it with the following "
            f"arguments: {', '.join(parameter.name for parameter in data)}."
        )
    else:
        mode = "json"
        data = data[:1]
        logger.info("run() is not decorated. Server will invoke it with the input in JSON string.")
    return UserScript(init, run, mode, data, wants_headers)


def is_schema_decorated(run: Callable[..., object]) -> bool:
    """inference-schema's verdict, if the script imported it (if not, it cannot be decorated)."""
    schema_util = sys.modules.get("inference_schema.schema_util")
    return bool(schema_util and schema_util.is_schema_decorated(run))


def _raise_timeout(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError


@contextlib.contextmanager
def _alarm(timeout_ms: int) -> Iterator[None]:
    """Interrupt ``run()`` with TimeoutError after ``timeout_ms`` (SIGALRM, as azmlinfsrv)."""
    previous = signal.signal(signal.SIGALRM, _raise_timeout)
    signal.setitimer(signal.ITIMER_REAL, timeout_ms / 1000)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
