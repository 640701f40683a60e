"""A batch deployment's settings, as azure-ai-ml sends them, with Azure's defaults.

The client (``BatchDeployment`` / ``ModelBatchDeploymentSettings``, azure-ai-ml 1.35.2) sends
them in the deployment's ARM ``properties``: ``miniBatchSize``, ``maxConcurrencyPerInstance``,
``outputAction`` (``AppendRow`` | ``SummaryOnly``), ``outputFileName``, ``errorThreshold``,
``retrySettings`` (``maxRetries``, ``timeout`` as an ISO 8601 duration, ``PT30S``),
``loggingLevel``, ``environmentVariables`` and ``resources.instanceCount``. What it leaves out
takes the defaults its docstrings and schemas name: mini-batches of 10, one instance, one
worker per instance, ``append_row`` into ``predictions.csv``, 3 tries of 30 s, no error limit
(``-1``), ``info`` logging.

``max_retries`` is, as the client's schema says, "the number of maximum tries for a failed or
timeout mini batch": 3 means a mini-batch runs at most 3 times.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from emulator.exceptions import BadArgument

APPEND_ROW = "append_row"
SUMMARY_ONLY = "summary_only"
#: The wire's values (BatchOutputAction) and the YAML's, to the one spelling kept here.
_OUTPUT_ACTIONS = {
    "appendrow": APPEND_ROW,
    "append_row": APPEND_ROW,
    "summaryonly": SUMMARY_ONLY,
    "summary_only": SUMMARY_ONLY,
}
#: BatchLoggingLevel's values.
LOGGING_LEVELS = ("info", "warning", "debug")
_DURATION = re.compile(
    r"P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class BatchSettings:
    """How a batch deployment runs its jobs (the defaults are Azure's)."""

    mini_batch_size: int = 10
    instance_count: int = 1
    max_concurrency_per_instance: int = 1
    output_action: str = APPEND_ROW
    output_file_name: str = "predictions.csv"
    #: Tries of a mini-batch that fails or times out (the first run counts).
    max_retries: int = 3
    #: Seconds one ``run(mini_batch)`` may take.
    timeout: float = 30.0
    #: Failed items (files) tolerated; ``-1``: any number.
    error_threshold: int = -1
    logging_level: str = "info"
    environment_variables: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("mini_batch_size", "instance_count", "max_concurrency_per_instance"):
            _positive(name, getattr(self, name))
        _positive("retry_settings.max_retries", self.max_retries)
        if not self.timeout > 0:
            raise _bad("retry_settings.timeout", self.timeout, "a number of seconds above 0")
        if self.error_threshold < -1:
            raise _bad("error_threshold", self.error_threshold, "-1 (no limit) or more")
        if self.output_action not in (APPEND_ROW, SUMMARY_ONLY):
            raise _bad("output_action", self.output_action, "append_row or summary_only")
        name = self.output_file_name
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise _bad("output_file_name", name, "a file name without a folder")
        if self.logging_level not in LOGGING_LEVELS:
            raise _bad("logging_level", self.logging_level, " | ".join(LOGGING_LEVELS))

    @property
    def workers(self) -> int:
        """Worker processes Azure would run: ``max_concurrency_per_instance * instance_count``."""
        return self.max_concurrency_per_instance * self.instance_count

    @classmethod
    def from_properties(cls, properties: Mapping[str, Any]) -> BatchSettings:
        """The settings in a batch deployment's ARM ``properties`` (the client's wire names);
        :class:`~emulator.exceptions.BadArgument` naming a field of the wrong type or range."""
        retry = properties.get("retrySettings") or {}
        resources = properties.get("resources") or {}
        values: dict[str, Any] = {}
        for name, wire in (
            ("mini_batch_size", properties.get("miniBatchSize")),
            ("max_concurrency_per_instance", properties.get("maxConcurrencyPerInstance")),
            ("error_threshold", properties.get("errorThreshold")),
            ("instance_count", resources.get("instanceCount")),
            ("max_retries", retry.get("maxRetries")),
        ):
            if wire is not None:
                values[name] = _integer(name, wire)
        if retry.get("timeout") is not None:
            values["timeout"] = parse_duration(retry["timeout"])
        action = properties.get("outputAction")
        if action is not None:
            values["output_action"] = _OUTPUT_ACTIONS.get(str(action).lower(), str(action))
        if properties.get("outputFileName") is not None:
            values["output_file_name"] = str(properties["outputFileName"])
        if properties.get("loggingLevel") is not None:
            values["logging_level"] = str(properties["loggingLevel"]).lower()
        variables = properties.get("environmentVariables") or {}
        if not isinstance(variables, Mapping):
            raise _bad("environment_variables", variables, "a mapping of names to strings")
        values["environment_variables"] = {str(k): str(v) for k, v in variables.items()}
        return cls(**values)


def parse_duration(value: Any) -> float:
    """Seconds of an ISO 8601 duration (``PT30S``, ``PT1M30S``), or of a plain number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    found = _DURATION.fullmatch(str(value).strip())
    if found is None or not any(found.groupdict().values()):
        raise _bad("retry_settings.timeout", value, "seconds, or an ISO 8601 duration like PT30S")
    parts = {key: float(number or 0) for key, number in found.groupdict().items()}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _bad(name, value, "an integer")
    try:
        return int(value)
    except ValueError:
        raise _bad(name, value, "an integer") from None


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise _bad(name, value, "1 or more")


def _bad(name: str, value: Any, expected: str) -> BadArgument:
    return BadArgument(
        f"The batch setting {name} is {value!r}. [emulator] Set it to {expected} (on the "
        "deployment, or in the job's params_override).",
        code="UserError",
    )
