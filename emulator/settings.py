"""Process-wide settings read from environment variables at call time.

Reading them lazily (never caching at import) keeps tests under pytest-xdist independent:
each worker or fixture can point ``AZUREML_EMULATOR_ROOT`` somewhere else.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT_ENV = "AZUREML_EMULATOR_ROOT"
STRICT_ENV = "AZUREML_EMULATOR_STRICT"
_TRUE = {"1", "true", "yes", "on"}


def emulator_root() -> Path:
    """Directory holding every emulated workspace: ``$AZUREML_EMULATOR_ROOT`` or a per-user one."""
    explicit = os.environ.get(ROOT_ENV)
    if explicit:
        return Path(explicit).expanduser().resolve()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "azureml-emulator"


def strict_mode() -> bool:
    """In strict mode unknown workspaces raise like Azure instead of being created on first use."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in _TRUE


BUILDER_ENV = "AZUREML_EMULATOR_BUILDER"


def builder_name() -> str:
    """The image builder: ``local`` (virtualenv, default), ``host`` or ``docker``."""
    return os.environ.get(BUILDER_ENV, "").strip().lower() or "local"


DOCKER_ENGINE_ENV = "AZUREML_EMULATOR_DOCKER_HOST"


def docker_engine_host() -> str | None:
    """The Docker engine the emulator's own docker builder and runtime use:
    ``$AZUREML_EMULATOR_DOCKER_HOST``, else None (``DOCKER_HOST``, docker-py's default). Sessions
    that point ``DOCKER_HOST`` at the emulator's Docker API (for azure-ai-ml's ``local=True``)
    record the engine in force here first, so the emulator never talks to itself."""
    return os.environ.get(DOCKER_ENGINE_ENV, "").strip() or None


PINS_ENV = "AZUREML_EMULATOR_PINS"
#: ``strict``: install exact pins as written (Azure's behaviour); ``nearest``: a pin with no
#: build for the image's python is replaced by the nearest version that has one.
PIN_MODES = ("strict", "nearest")


def pins_mode() -> str:
    """How the local (venv) and Docker builders treat exact pins: ``strict`` (default) or
    ``nearest``."""
    raw = os.environ.get(PINS_ENV, "").strip().lower()
    if not raw:
        return PIN_MODES[0]
    if raw not in PIN_MODES:
        raise ValueError(
            f"{PINS_ENV}={raw!r} is not a pin mode: set it to 'nearest' (replace pins that have "
            "no build for this python by the nearest version that has one) or 'strict' (the "
            "default: install pins as written)."
        )
    return raw


CORE_QUOTA_ENV = "AZUREML_EMULATOR_CORE_QUOTA"
DEFAULT_CORE_QUOTA = 100
PROVISIONING_SECONDS_ENV = "AZUREML_EMULATOR_PROVISIONING_SECONDS"
DEFAULT_PROVISIONING_SECONDS = 1.0


def core_quota() -> int:
    """Cores one subscription may hold in compute clusters (Azure's regional vCPU quota)."""
    raw = os.environ.get(CORE_QUOTA_ENV, "").strip()
    if not raw:
        return DEFAULT_CORE_QUOTA
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{CORE_QUOTA_ENV} must be a whole number of cores, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{CORE_QUOTA_ENV} must not be negative, not {raw!r}")
    return value


def provisioning_seconds() -> float:
    """How long an emulated cluster stays ``Creating`` (or ``Deleting``) before it settles."""
    raw = os.environ.get(PROVISIONING_SECONDS_ENV, "").strip()
    if not raw:
        return DEFAULT_PROVISIONING_SECONDS
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(
            f"{PROVISIONING_SECONDS_ENV} must be a number of seconds, not {raw!r}"
        ) from None
    return max(0.0, value)


TOKEN_LIFETIME_ENV = "AZUREML_EMULATOR_TOKEN_LIFETIME"
DEFAULT_TOKEN_LIFETIME = 3600.0


def token_lifetime_seconds() -> float:
    """How long an AKS access token is valid (Azure: one hour); read when a service deploys."""
    raw = os.environ.get(TOKEN_LIFETIME_ENV, "").strip()
    if not raw:
        return DEFAULT_TOKEN_LIFETIME
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise ValueError(f"{TOKEN_LIFETIME_ENV} must be a positive number of seconds, not {raw!r}")
    return value


MAX_BODY_ENV = "AZUREML_EMULATOR_MAX_BODY_BYTES"
#: Azure does not document its front ends' limit; 100 MiB keeps every realistic payload.
DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024
READ_TIMEOUT_ENV = "AZUREML_EMULATOR_READ_TIMEOUT"
DEFAULT_READ_TIMEOUT = 60.0


def gateway_max_body_bytes() -> int:
    """The largest request body a service gateway accepts (more is answered 413)."""
    raw = os.environ.get(MAX_BODY_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BODY_BYTES
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{MAX_BODY_ENV} must be a positive number of bytes, not {raw!r}")
    return int(raw)


def gateway_read_timeout() -> float:
    """Seconds a client has to send a whole request to a gateway once it began (else 408)."""
    raw = os.environ.get(READ_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_READ_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ValueError(f"{READ_TIMEOUT_ENV} must be a positive number of seconds, not {raw!r}")
    return value


WARM_START_ENV = "AZUREML_EMULATOR_WARM_START"


def warm_start() -> bool:
    """Whether the process runtime forks replicas from a warm interpreter of their image's
    environment (default on; ``0``/``false``/``no``/``off`` starts every replica cold)."""
    raw = os.environ.get(WARM_START_ENV, "").strip().lower()
    if not raw or raw in _TRUE:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ValueError(
        f"{WARM_START_ENV}={raw!r} is not a switch: set it to 0 (start every replica in a fresh "
        "interpreter) or 1 (the default: fork replicas from a warm interpreter)."
    )
