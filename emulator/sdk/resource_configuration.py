"""``azureml.core.resource_configuration.ResourceConfiguration``: what a registered model needs
to run (CPU cores, memory, GPUs), kept on the model version and used by ``Model.profile`` and
no-code deployment as Azure does: the model's ``resourceRequirements``."""

from __future__ import annotations

from typing import Any

from emulator.sdk.exceptions import WebserviceException

__all__ = ["ResourceConfiguration"]

_PAYLOAD_KEYS = ("cpu", "memoryInGB", "gpu")


class ResourceConfiguration:
    """CPU cores, memory in GB and GPUs for a model; unset values stay None."""

    def __init__(
        self, cpu: float | None = None, memory_in_gb: float | None = None, gpu: int | None = None
    ) -> None:
        self.cpu = cpu
        self.memory_in_gb = memory_in_gb
        self.gpu = gpu

    def serialize(self) -> dict[str, Any]:
        """The service's JSON shape (``resourceRequirements`` of a model)."""
        return {"cpu": self.cpu, "memoryInGB": self.memory_in_gb, "gpu": self.gpu}

    @staticmethod
    def deserialize(payload_obj: dict[str, Any] | None) -> ResourceConfiguration | None:
        """The configuration ``payload_obj`` (from :meth:`serialize`) describes; None stays None."""
        if payload_obj is None:
            return None
        for key in _PAYLOAD_KEYS:
            if key not in payload_obj:
                raise WebserviceException(
                    f"Invalid webservice payload, missing {key} for ResourceConfiguration:\n"
                    f"{payload_obj}"
                )
        return ResourceConfiguration(
            payload_obj["cpu"], payload_obj["memoryInGB"], payload_obj["gpu"]
        )

    def _validate_configuration(self) -> None:
        """The SDK's checks at ``Model.register``: every value given must be positive."""
        errors = []
        if self.cpu is not None and (_not_number(self.cpu) or self.cpu <= 0):
            errors.append("Invalid configuration, cpu must be greater than zero.")
        if self.memory_in_gb is not None and (
            _not_number(self.memory_in_gb) or self.memory_in_gb <= 0
        ):
            errors.append("Invalid configuration, memory_in_gb must be greater than zero.")
        if self.gpu is not None and (
            not isinstance(self.gpu, int) or isinstance(self.gpu, bool) or self.gpu <= 0
        ):
            errors.append("Invalid configuration, gpu must be integer and greater than zero.")
        if errors:
            raise WebserviceException("\n".join(errors))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ResourceConfiguration):
            return NotImplemented
        return self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((self.cpu, self.memory_in_gb, self.gpu))

    def __repr__(self) -> str:
        return (
            f"ResourceConfiguration(cpu={self.cpu}, memory_in_gb={self.memory_in_gb}, "
            f"gpu={self.gpu})"
        )


def _not_number(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, (int, float))
