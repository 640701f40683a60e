"""The plugin's command-line and ini options, read once per session into :class:`AmlOptions`.

They are read in one place so every hook and fixture agrees on them, and so a bad value stops
the run at start-up with a message naming the option instead of failing tests one by one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from emulator.settings import PIN_MODES, PINS_ENV
from emulator.timing import TIME_SCALE_ENV

BACKENDS = ("process", "docker")
TARGETS = ("aci", "aks", "local")
#: Crash-loop back-off and probe periods under pytest: Azure's multiplied by this (50x faster),
#: so a broken ``init()`` fails its test in seconds. Explicit here so that a change of the
#: emulator's own default never slows test suites down.
DEFAULT_TIME_SCALE = 0.02
#: Lines of a service's log added to the report of a failed test.
REPORT_LOG_LINES = 1000

OPTIONS_KEY = pytest.StashKey["AmlOptions"]()


@dataclass(frozen=True)
class AmlOptions:
    """What the user chose for this session (see the plugin module's docstring)."""

    backend: str | None  # None: $AZUREML_EMULATOR_RUNTIME decides (default process)
    root: Path | None
    keep: bool
    strict: bool
    reuse: bool
    time_scale: float
    require_docker: bool
    pins: str | None = None  # None: $AZUREML_EMULATOR_PINS decides (default strict)
    daemon: bool = False  # aml_v2_env / aml_ml_client attach to the running `amlemu up`


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("azureml-emulator", "azureml-emulator (Azure ML deployments offline)")
    group.addoption(
        "--aml-backend",
        choices=BACKENDS,
        default=None,
        help="run service replicas as processes (images built on this interpreter or in a "
        "virtualenv) or as Docker containers (images built by Docker); default: "
        "$AZUREML_EMULATOR_RUNTIME, else process",
    )
    group.addoption(
        "--aml-root",
        metavar="PATH",
        default=None,
        help="keep every emulator root (models, images, logs) under PATH/<xdist worker>/ "
        "instead of pytest's temporary directories",
    )
    group.addoption(
        "--aml-keep",
        action="store_true",
        help="do not delete deployed services at teardown (they stop when pytest exits) and "
        "keep their roots and logs; the terminal summary says where",
    )
    group.addoption(
        "--aml-strict",
        action="store_true",
        help="strict workspace mode: unknown workspaces raise as in Azure "
        "(AZUREML_EMULATOR_STRICT=1)",
    )
    group.addoption(
        "--aml-reuse",
        action="store_true",
        help="let identical aml_deploy deployments share one service per worker "
        "(as @pytest.mark.aml_reuse does for one test)",
    )
    group.addoption(
        "--aml-time-scale",
        metavar="FACTOR",
        default=None,
        help=f"multiply Azure's crash-loop back-off and probe periods by FACTOR (default "
        f"{DEFAULT_TIME_SCALE}, ini aml_time_scale; 1 runs at Azure's speed)",
    )
    group.addoption(
        "--aml-require-docker",
        action="store_true",
        help="fail (instead of skip) tests on the docker backend when no Docker engine answers",
    )
    group.addoption(
        "--aml-pins",
        choices=PIN_MODES,
        default=None,
        help="exact pins with no build for the image's python: 'strict' installs them as "
        "written (fails, as Azure would on this python), 'nearest' replaces each by the "
        f"nearest version with a build and lists it in the build log; default: ${PINS_ENV}, "
        "else strict",
    )
    group.addoption(
        "--aml-daemon",
        action="store_true",
        help="aml_v2_env and aml_ml_client use the running emulator daemon (`amlemu up`) of "
        "AZUREML_EMULATOR_ROOT instead of an emulator per test; what tests create stays there",
    )
    parser.addini(
        "aml_time_scale",
        f"time scale of orchestration delays under pytest (default {DEFAULT_TIME_SCALE})",
        default=None,
    )
    parser.addini(
        "aml_require_docker",
        "fail (instead of skip) docker-backend tests without a Docker engine",
        type="bool",
        default=False,
    )


def read_options(config: pytest.Config) -> AmlOptions:
    root = config.getoption("--aml-root")
    return AmlOptions(
        backend=config.getoption("--aml-backend"),
        root=(config.invocation_params.dir / root).resolve() if root else None,
        keep=bool(config.getoption("--aml-keep")),
        strict=bool(config.getoption("--aml-strict")),
        reuse=bool(config.getoption("--aml-reuse")),
        time_scale=_time_scale(config),
        require_docker=bool(
            config.getoption("--aml-require-docker") or config.getini("aml_require_docker")
        ),
        pins=config.getoption("--aml-pins"),
        daemon=bool(config.getoption("--aml-daemon")),
    )


def _time_scale(config: pytest.Config) -> float:
    """``--aml-time-scale``, else ``$AZUREML_EMULATOR_TIME_SCALE``, else ini, else default."""
    for source, raw in (
        ("--aml-time-scale", config.getoption("--aml-time-scale")),
        (TIME_SCALE_ENV, os.environ.get(TIME_SCALE_ENV, "").strip() or None),
        ("aml_time_scale (ini)", config.getini("aml_time_scale") or None),
    ):
        if raw is None:
            continue
        try:
            value = float(raw)
        except ValueError:
            value = 0.0
        if not value > 0:
            raise pytest.UsageError(
                f"{source}={raw!r} is not a positive number: give a factor such as "
                f"{DEFAULT_TIME_SCALE} (50 times faster than Azure) or 1 (Azure's speed)."
            )
        return value
    return DEFAULT_TIME_SCALE
