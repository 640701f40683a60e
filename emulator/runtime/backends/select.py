"""Which backend starts containers: ``AZUREML_EMULATOR_RUNTIME`` = ``process`` (default) or
``docker``, or the name passed explicitly. Backends are imported only when chosen, so the
process runtime never needs the Docker SDK."""

from __future__ import annotations

import os

from emulator.exceptions import InvalidSetting
from emulator.runtime.backends.base import Backend

RUNTIME_ENV = "AZUREML_EMULATOR_RUNTIME"
RUNTIMES = ("process", "docker")


def runtime_name(name: str | None = None) -> str:
    """``name``, else ``$AZUREML_EMULATOR_RUNTIME``, else ``process`` (lower-cased)."""
    return (name or os.environ.get(RUNTIME_ENV, "")).strip().lower() or "process"


def select_backend(name: str | None = None) -> Backend:
    """A new instance of the backend called ``name`` (default: from the environment)."""
    chosen = runtime_name(name)
    if chosen == "process":
        from emulator.runtime.backends.process import ProcessBackend

        return ProcessBackend()
    if chosen == "docker":
        from emulator.runtime.backends.docker import DockerBackend

        backend: Backend = DockerBackend()
        return backend
    raise InvalidSetting(
        f"Unknown container runtime '{chosen}'. Set {RUNTIME_ENV} to one of: {', '.join(RUNTIMES)}."
    )
