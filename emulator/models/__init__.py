"""The model registry (state) and the container's view of models (layout and path resolution)."""

from emulator.models.layout import MODELS_DIRNAME, lay_out_models
from emulator.models.records import ModelFile, ModelRecord
from emulator.models.registry import ModelRegistry

__all__ = ["MODELS_DIRNAME", "ModelFile", "ModelRecord", "ModelRegistry", "lay_out_models"]
