"""What ``azureml.core.compute_target`` offers: ``ComputeTargetException`` (notebooks import
it from here) and ``ComputeTarget``."""

from emulator.errors import ComputeTargetException
from emulator.sdk.compute import ComputeTarget

__all__ = ["ComputeTarget", "ComputeTargetException"]
