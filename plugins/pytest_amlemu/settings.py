"""Per-test settings: the session's options overridden by ``@pytest.mark.aml`` and
``@pytest.mark.aml_reuse``, and the environment variables that carry them to the emulator.

The emulator reads its settings from environment variables when it uses them (a replica reads
the time scale when it is created), so a test's settings are applied by setting those
variables for that test, or for one deployment, only: nothing leaks into other tests or into
subprocesses a test starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import NoReturn

import pytest

from emulator.runtime.backends.select import RUNTIME_ENV, runtime_name
from emulator.settings import BUILDER_ENV, PINS_ENV, STRICT_ENV, builder_name
from emulator.timing import TIME_SCALE_ENV
from pytest_amlemu.options import BACKENDS, TARGETS, AmlOptions

MARKERS = (
    "aml(backend=None, target=None): run this test's deployments on backend 'process' or "
    "'docker' and deploy aml_deploy services to target 'aci', 'aks' or 'local' by default",
    "aml_reuse: identical aml_deploy deployments share one running service per worker",
)
_MARKER_ARGUMENTS = {"backend": BACKENDS, "target": TARGETS}


@dataclass(frozen=True)
class TestSettings:
    """What one test runs on."""

    __test__ = False  # not a test class, whatever pytest's name heuristics say

    backend: str
    backend_chosen: bool  # by --aml-backend or the marker, not by environment variables
    target: str
    strict: bool
    reuse: bool
    time_scale: float
    pins: str | None = None  # --aml-pins; None leaves $AZUREML_EMULATOR_PINS as it is

    def environment(self) -> dict[str, str]:
        """Variables for the test: the time scale, a chosen backend's runtime and builder,
        strict mode, the pin mode. A backend taken from the environment leaves the environment
        as it is."""
        variables = {TIME_SCALE_ENV: repr(self.time_scale)}
        if self.backend_chosen:
            variables[RUNTIME_ENV] = self.backend
            if self.backend == "docker":
                variables[BUILDER_ENV] = "docker"
            elif builder_name() == "docker":
                variables[BUILDER_ENV] = "local"
        if self.strict:
            variables[STRICT_ENV] = "1"
        if self.pins is not None:
            variables[PINS_ENV] = self.pins
        return variables

    def builder(self, has_environment: bool) -> str:
        """The image builder of an ``aml_deploy`` deployment: Docker on the docker backend;
        else the host's interpreter without an environment, a virtualenv with one (unless the
        user chose the host builder)."""
        if self.backend == "docker":
            return "docker"
        if not has_environment:
            return "host"
        return "host" if builder_name() == "host" else "local"


def settings_for(node: pytest.Item | pytest.Collector, options: AmlOptions) -> TestSettings:
    """The test's settings; a malformed ``aml`` marker fails the test with the fix."""
    overrides: dict[str, str] = {}
    for marker in reversed(list(node.iter_markers("aml"))):  # closest marker wins
        if marker.args:
            _bad_marker(f"takes keyword arguments only, got {marker.args!r}")
        for key, value in marker.kwargs.items():
            allowed = _MARKER_ARGUMENTS.get(key)
            if allowed is None:
                _bad_marker(f"has no argument {key!r}")
            elif value not in allowed:
                _bad_marker(f"got {key}={value!r}; {key} must be one of {', '.join(allowed)}")
            overrides[key] = value
    chosen = overrides.get("backend") or options.backend
    backend = chosen or _backend_from_environment()
    if backend not in BACKENDS:
        pytest.fail(
            f"{RUNTIME_ENV}={backend!r} is not a runtime; set it to one of "
            f"{', '.join(BACKENDS)} or pass --aml-backend.",
            pytrace=False,
        )
    return TestSettings(
        backend=backend,
        backend_chosen=chosen is not None,
        target=overrides.get("target", "aci"),
        strict=options.strict,
        reuse=options.reuse or node.get_closest_marker("aml_reuse") is not None,
        time_scale=options.time_scale,
        pins=options.pins,
    )


def _backend_from_environment() -> str:
    """``$AZUREML_EMULATOR_RUNTIME``; else docker when images are built by Docker (services
    run on their image's builder); else process."""
    if os.environ.get(RUNTIME_ENV, "").strip():
        return runtime_name()
    return "docker" if builder_name() == "docker" else "process"


def _bad_marker(problem: str) -> NoReturn:
    pytest.fail(
        f"@pytest.mark.aml {problem}. It takes backend= ({' | '.join(BACKENDS)}) and "
        f"target= ({' | '.join(TARGETS)}), e.g. @pytest.mark.aml(backend='docker', "
        "target='aks').",
        pytrace=False,
    )
