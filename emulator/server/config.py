"""Server settings, read from the environment (and ``config.json``) the way azmlinfsrv reads them.

azmlinfsrv's command line only writes environment variables; the server and the user's code
then read those. :func:`cli_environment` is that first step, :meth:`ServerConfig.from_env` the
second, so ``amlemu serve`` and a container started with the variables alone behave alike.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from emulator.server.version import SERVER_VERSION_HEADER

ENTRY_SCRIPT = "AZUREML_ENTRY_SCRIPT"
MODEL_DIR = "AZUREML_MODEL_DIR"
APP_ROOT = "AML_APP_ROOT"
SOURCE_DIR = "AZUREML_SOURCE_DIRECTORY"
CONFIG_FILE = "AZUREML_CONFIG_FILE"
SCORING_TIMEOUT = "SCORING_TIMEOUT_MS"
WORKER_COUNT = "WORKER_COUNT"
WORKER_TIMEOUT = "WORKER_TIMEOUT"
SERVER_PORT = "SERVER_PORT"
HEALTH_PORT = "HEALTH_PORT"
SEPARATE_HEALTH = "SEPERATE_HEALTH_ENDPOINT"  # sic: azmlinfsrv's spelling
CORS_ORIGINS = "AML_CORS_ORIGINS"
SERVER_VERSION = "HTTP_X_MS_SERVER_VERSION"
SERVER_VERSION_ENABLED = "SERVER_VERSION_LOG_RESPONSE_ENABLED"
APP_INSIGHTS_ENABLED = "AML_APP_INSIGHTS_ENABLED"
APP_INSIGHTS_KEY = "AML_APP_INSIGHTS_KEY"
APP_INSIGHTS_LOG_RESPONSE = "APP_INSIGHTS_LOG_RESPONSE_ENABLED"
WORKSPACE_NAME = "WORKSPACE_NAME"
#: Where an enabled Application Insights client records what it would have sent (JSON lines).
TELEMETRY_FILE = "AZUREML_EMULATOR_TELEMETRY_FILE"
SERVICE_NAME = "SERVICE_NAME"
SERVICE_VERSION = "SERVICE_VERSION"
SERVICE_PATH_PREFIX = "SERVICE_PATH_PREFIX"
#: The server's settings that Azure and the emulator set per replica (besides ``AZUREML_*`` and
#: ``AML_*``): a host's value never reaches a replica, and they do not key a warm interpreter.
PER_REPLICA = (
    SCORING_TIMEOUT,
    WORKER_COUNT,
    WORKER_TIMEOUT,
    SERVER_PORT,
    HEALTH_PORT,
    SEPARATE_HEALTH,
    SERVER_VERSION,
    SERVER_VERSION_ENABLED,
    APP_INSIGHTS_LOG_RESPONSE,
    WORKSPACE_NAME,
    SERVICE_NAME,
    SERVICE_VERSION,
    SERVICE_PATH_PREFIX,
)

DEFAULT_APP_ROOT = "/var/azureml-app"
DEFAULT_PORT = 5001
DEFAULT_HEALTH_PORT = 5000
DEFAULT_SCORING_TIMEOUT_MS = 3_600_000
#: Only loopback: the emulator never listens on other addresses.
HOST = "127.0.0.1"
#: azmlinfsrv's test of an instrumentation key (any UUID, case-insensitive).
_INSTRUMENTATION_KEY = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z", re.IGNORECASE
)

#: Keys a config file may set (azmlinfsrv's pydantic settings, by environment name).
_FILE_KEYS = (
    APP_ROOT,
    SOURCE_DIR,
    ENTRY_SCRIPT,
    MODEL_DIR,
    SERVICE_NAME,
    SERVICE_VERSION,
    SERVICE_PATH_PREFIX,
    SCORING_TIMEOUT,
    CORS_ORIGINS,
)


class ConfigError(Exception):
    """A setting has a value the server cannot use; azmlinfsrv's workers exit 3 on it."""


@dataclass(frozen=True)
class ServerConfig:
    """Everything the HTTP process and the workers need, already validated."""

    entry_script: str | None
    model_dir: str | None
    app_root: str
    source_dir: str | None
    config_file: str | None
    port: int
    health_port: int | None
    worker_count: int
    worker_timeout: str | None
    scoring_timeout_ms: int
    cors_origins: tuple[str, ...]
    cors_setting: str | None
    server_version: str | None
    service_name: str
    service_version: str
    service_path_prefix: str
    app_insights_enabled: bool = False
    app_insights_log_response: bool = True
    workspace_name: str = ""
    telemetry_file: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ServerConfig:
        """Read the settings; environment variables win over the config file."""
        config_file = find_config_file(environ)
        values: dict[str, Any] = dict(_read_config_file(config_file)) if config_file else {}
        values.update({key: value for key, value in environ.items() if key in _FILE_KEYS})

        def text(key: str, default: str | None = None) -> str | None:
            value = values.get(key, default)
            return None if value is None else str(value)

        cors = text(CORS_ORIGINS)
        workers = _integer(environ, WORKER_COUNT, 1)
        if workers < 1:
            raise ConfigError(
                f"Specified worker count '{workers}' is invalid. "
                "Please specify a worker count greater than zero."
            )
        separate = environ.get(SEPARATE_HEALTH) == "true"
        return cls(
            entry_script=text(ENTRY_SCRIPT),
            model_dir=text(MODEL_DIR),
            app_root=text(APP_ROOT) or DEFAULT_APP_ROOT,
            source_dir=text(SOURCE_DIR),
            config_file=config_file,
            port=_integer(environ, SERVER_PORT, DEFAULT_PORT),
            health_port=_integer(environ, HEALTH_PORT, DEFAULT_HEALTH_PORT) if separate else None,
            worker_count=workers,
            worker_timeout=environ.get(WORKER_TIMEOUT),
            scoring_timeout_ms=_integer(values, SCORING_TIMEOUT, DEFAULT_SCORING_TIMEOUT_MS),
            cors_origins=tuple(o.strip() for o in cors.split(",")) if cors else (),
            cors_setting=cors,
            server_version=environ.get(SERVER_VERSION) or None,
            service_name=text(SERVICE_NAME) or "ML service",
            service_version=text(SERVICE_VERSION) or "1.0",
            service_path_prefix=text(SERVICE_PATH_PREFIX) or "",
            # The CLI left "true" only for a valid key (check_app_insights); the worker's own
            # test is "enabled and a key".
            app_insights_enabled=_flag(environ, APP_INSIGHTS_ENABLED, False)
            and bool(environ.get(APP_INSIGHTS_KEY)),
            app_insights_log_response=_flag(environ, APP_INSIGHTS_LOG_RESPONSE, True),
            workspace_name=environ.get(WORKSPACE_NAME, ""),
            telemetry_file=environ.get(TELEMETRY_FILE) or None,
        )

    @property
    def entry_script_path(self) -> str | None:
        """Where the script is loaded from: relative names are joined onto the app root."""
        if self.entry_script is None:
            return None
        return os.path.join(self.app_root, self.entry_script.replace("/", os.sep))


def _integer(values: Mapping[str, Any], key: str, default: int) -> int:
    raw = values.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(
            "\n===============Configuration Error=================\n"
            f"{key}: Input should be a valid integer, unable to parse string as an integer "
            f"(environment variable: {key})\n"
            "==================================================="
        ) from None


def _flag(environ: Mapping[str, str], key: str, default: bool) -> bool:
    """A boolean setting as pydantic reads one; a value it refuses is a configuration error."""
    raw = environ.get(key)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "t", "yes", "y", "on"):
        return True
    if value in ("0", "false", "f", "no", "n", "off"):
        return False
    raise ConfigError(
        "\n===============Configuration Error=================\n"
        f"{key}: Input should be a valid boolean, unable to interpret input "
        f"(environment variable: {key})\n"
        "==================================================="
    )


def find_config_file(environ: Mapping[str, str]) -> str | None:
    """``AZUREML_CONFIG_FILE``, else a non-empty ``config.json`` in the app or script folder."""
    candidates = [environ.get(CONFIG_FILE)]
    entry = environ.get(ENTRY_SCRIPT)
    for folder in (
        environ.get(APP_ROOT, DEFAULT_APP_ROOT),
        os.path.dirname(os.path.abspath(entry)) if entry else None,
    ):
        if folder:
            candidates.append(os.path.join(folder, "config.json"))
    for path in candidates:
        if path and os.path.isfile(path) and os.path.getsize(path) > 0:
            return path
    return None


def _read_config_file(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Invalid config file!: {exc}") from None
    return {key: data[key] for key in _FILE_KEYS if isinstance(data, dict) and key in data}


def cli_environment(
    environ: Mapping[str, str],
    *,
    entry_script: str | None,
    model_dir: str | None = None,
    port: int | None = None,
    health_port: int | None = None,
    worker_count: int | None = None,
    appinsights_instrumentation_key: str | None = None,
    access_control_allow_origins: str | None = None,
    config_file: str | None = None,
    cwd: str | None = None,
) -> dict[str, str]:
    """The environment azmlinfsrv's command line builds from its flags (it never validates paths).

    Unlike azmlinfsrv, an ``AZUREML_ENTRY_SCRIPT`` already in the environment is accepted
    without ``--entry_script``, which is how an image starts its server.
    """
    env = dict(environ)
    env.setdefault(APP_ROOT, cwd or os.getcwd())
    if entry_script:
        env[ENTRY_SCRIPT] = os.path.realpath(entry_script)
    if model_dir is not None:
        env[MODEL_DIR] = model_dir
    env[WORKER_COUNT] = str(worker_count or env.get(WORKER_COUNT) or 1)
    if env.get(SERVER_VERSION_ENABLED, "true").lower() == "true":
        env.setdefault(SERVER_VERSION, SERVER_VERSION_HEADER)
    env[SERVER_PORT] = str(DEFAULT_PORT if port is None else port)
    if env.get(SEPARATE_HEALTH) == "true":
        env[HEALTH_PORT] = str(DEFAULT_HEALTH_PORT if health_port is None else health_port)
    else:
        env[HEALTH_PORT] = env[SERVER_PORT]
    if appinsights_instrumentation_key is not None:  # the flag wins over the environment
        env[APP_INSIGHTS_ENABLED] = "true"
        env[APP_INSIGHTS_KEY] = appinsights_instrumentation_key
    if access_control_allow_origins is not None:
        env[CORS_ORIGINS] = access_control_allow_origins
    if config_file:
        env[CONFIG_FILE] = os.path.realpath(config_file)
    return env


def check_app_insights(env: MutableMapping[str, str]) -> list[str]:
    """azmlinfsrv's check of the Application Insights settings, before its banner.

    ``AML_APP_INSIGHTS_ENABLED`` stays ``true`` only when it is exactly ``true`` and
    ``AML_APP_INSIGHTS_KEY`` is a UUID; every other case exports ``false`` to the workers (and
    the user's code), keeping the key as given. Returns the lines azmlinfsrv prints about it
    (measured: ``research/golden/infsrv-appinsights-*.txt``).
    """
    enabled = env.get(APP_INSIGHTS_ENABLED)
    key = env.get(APP_INSIGHTS_KEY)
    if enabled == "true" and key is not None:
        if _INSTRUMENTATION_KEY.match(key):
            return ["Valid Application Insights instrumentation key provided."]
        env[APP_INSIGHTS_ENABLED] = "false"
        return [
            "Invalid Application Insights instrumentation key provided.",
            "Application Insights has been disabled.",
        ]
    env[APP_INSIGHTS_ENABLED] = "false"
    return []
