"""What a deployment grants a replica: CPU, memory, scoring timeout and start-up deadline.

Read from a deployment configuration in either spelling users have: the SDK's
``deploy_configuration`` keyword names (``cpu_cores``, ``memory_gb``, ``scoring_timeout_ms``,
...) or the ``az ml model deploy --dc`` JSON (``containerResourceRequirements``,
``scoringTimeoutMs``, ``livenessProbeRequirements``). Unset values take Azure's defaults for the
target. Only AKS has a liveness probe with a configurable delay, so only AKS has a start-up
deadline; only ACI and AKS limit CPU and memory (a local service runs unconstrained).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from emulator.validation.checks import Severity

TARGETS = ("aci", "aks", "local")
#: Above this share of a limit a measurement is a warning; above the limit an error.
WARN_SHARE = 0.8

_ACI_TIMEOUT_MS = 3_600_000  # no front end: the container's own SCORING_TIMEOUT_MS default
_AKS = {
    "cpu_cores": 0.1,
    "memory_gb": 0.5,
    "scoring_timeout_ms": 60_000,
    "initial_delay_seconds": 310,
    "period_seconds": 10,
    "failure_threshold": 3,
}
_CAMEL = {
    "cpu": "cpu_cores",
    "cpuLimit": "cpu_cores_limit",
    "memoryInGB": "memory_gb",
    "memoryInGBLimit": "memory_gb_limit",
    "scoringTimeoutMs": "scoring_timeout_ms",
    "initialDelaySeconds": "initial_delay_seconds",
    "periodSeconds": "period_seconds",
    "failureThreshold": "failure_threshold",
    "computeType": "compute_type",
}
_NESTED = ("containerResourceRequirements", "livenessProbeRequirements")
_NUMERIC = (
    "cpu_cores",
    "cpu_cores_limit",
    "memory_gb",
    "memory_gb_limit",
    "scoring_timeout_ms",
    "initial_delay_seconds",
    "period_seconds",
    "failure_threshold",
)


class LimitsError(ValueError):
    """A deployment configuration that cannot be read; the message names the key."""


@dataclass(frozen=True)
class LimitNames:
    """How findings name each limit and its fix: the setting users write in their
    deployment configuration (SDK v1 keywords by default; v2 YAML keys for an online
    deployment, where memory and CPU come from the instance type)."""

    cpu: str = "cpu_cores={cpu:g}"
    memory: str = "memory_gb={memory:g}"
    timeout: str = "scoring_timeout_ms={timeout}"
    startup: str = (
        "the liveness probe gives up after {startup:g} s (initial_delay_seconds + "
        "period_seconds x failure_threshold)"
    )
    memory_fix: str | None = None
    timeout_fix: str | None = None
    startup_fix: str | None = None


V1_NAMES = LimitNames()


@dataclass(frozen=True)
class Limits:
    """A replica's allowances; ``None`` means unlimited (or not applicable to the target)."""

    target: str = "aci"
    cpu_cores: float | None = 0.1
    memory_gb: float | None = 0.5
    scoring_timeout_ms: int | None = _ACI_TIMEOUT_MS
    startup_seconds: float | None = None
    #: The VM size the limits come from (an SDK v2 online deployment's ``instance_type``).
    instance_type: str | None = None
    names: LimitNames = field(default=V1_NAMES, compare=False)

    @classmethod
    def from_config(cls, target: str | None, config: Mapping[str, Any] | None) -> Limits:
        """Limits for ``target`` (default: the config's ``computeType``, else ``aci``)."""
        values = _flatten(config or {})
        chosen = (target or str(values.pop("compute_type", "") or "aci")).lower()
        values.pop("compute_type", None)
        if chosen not in TARGETS:
            raise LimitsError(
                f"Unknown deployment target {chosen!r}: use one of {', '.join(TARGETS)}."
            )
        for key in _NUMERIC:
            value = values.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, numbers.Real) or value <= 0
            ):
                raise LimitsError(
                    f"Deployment configuration: {key} must be a positive number, not {value!r}."
                )
        if chosen == "local":
            return cls("local", None, None, _ACI_TIMEOUT_MS, None)
        if chosen == "aci":
            return cls(
                "aci",
                float(values.get("cpu_cores") or 0.1),
                float(values.get("memory_gb") or 0.5),
                _ACI_TIMEOUT_MS,
                None,
            )
        merged = {**_AKS, **{k: v for k, v in values.items() if v is not None}}
        startup = (
            merged["initial_delay_seconds"] + merged["period_seconds"] * merged["failure_threshold"]
        )
        return cls(
            "aks",
            float(merged.get("cpu_cores_limit") or merged["cpu_cores"]),
            float(merged.get("memory_gb_limit") or merged["memory_gb"]),
            int(merged["scoring_timeout_ms"]),
            float(startup),
        )

    def to_dict(self) -> dict[str, object]:
        described: dict[str, object] = {
            "target": self.target,
            "cpuCores": self.cpu_cores,
            "memoryInGB": self.memory_gb,
            "scoringTimeoutMs": self.scoring_timeout_ms,
            "startupDeadlineSeconds": self.startup_seconds,
        }
        if self.instance_type is not None:
            described["instanceType"] = self.instance_type
        return described


def _flatten(config: Mapping[str, Any]) -> dict[str, Any]:
    """Both spellings onto the SDK's keyword names; nested REST sections are lifted."""
    if not isinstance(config, Mapping):
        raise LimitsError(
            "A deployment configuration must be a mapping of settings, not "
            f"{type(config).__name__}."
        )
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if key in _NESTED:
            if not isinstance(value, Mapping):
                raise LimitsError(f"Deployment configuration: {key} must be a mapping.")
            flat.update({_CAMEL.get(str(k), str(k)): v for k, v in value.items()})
        else:
            flat[_CAMEL.get(key, key)] = value
    return flat


def estimated_ms(wall_ms: float, cpu_ms: float, cpu_cores: float | None) -> float:
    """Wall time under a CPU quota: a process cannot get ``cpu_ms`` of CPU faster than
    ``cpu_ms / cpu_cores`` (measured without a quota on this machine)."""
    if not cpu_cores:
        return wall_ms
    return max(wall_ms, cpu_ms / cpu_cores)


def rate(measured: float, limit: float | None) -> Severity | None:
    """``error`` above the limit, ``warning`` above 80 % of it, else ``None``."""
    if limit is None:
        return None
    if measured > limit:
        return Severity.ERROR
    if measured > WARN_SHARE * limit:
        return Severity.WARNING
    return None
