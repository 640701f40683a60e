"""What ``azureml.core.model`` exposes: ``Model`` and ``InferenceConfig``."""

from emulator.sdk.inference_config import InferenceConfig
from emulator.sdk.model import Model

__all__ = ["InferenceConfig", "Model"]
