"""What ``azureml.core.compute_target`` offers: ``ComputeTargetException`` (notebooks import
it from here) and ``ComputeTarget``."""

from emulator.sdk.compute import ComputeTarget
from emulator.sdk.exceptions import ComputeTargetException

__all__ = ["ComputeTarget", "ComputeTargetException"]
