"""``azureml.accel.models``: the Brainwave featurizers, importable, refusing to run offline.

In azureml-accel-models (1.62) each class (``Resnet50``, ``QuantizedResnet50``, ... down to
``QuantizedSsdVgg``) downloads its TensorFlow 1.x metagraph and checkpoint from a
``go.microsoft.com`` link when it is constructed, unless ``model_base_path`` already holds them,
and every later member (``import_graph_def``, ``restore_weights``, ``get_default_classifier``,
``preprocess_array``) builds TensorFlow 1.x graph ops over those weights. This machine reaches
nothing outside it and the emulator has no TensorFlow graph runtime, so the module imports (a
notebook's ``from azureml.accel.models import QuantizedResnet50`` runs) and each class takes the
SDK's constructor parameters, then raises the SDK's ``UserErrorException`` with a one-line
reason naming the download, as the other offline refusals of ``azureml.core`` do. The
accelerated-models service itself is emulated (``azureml.accel``): an ONNX or scikit-learn
model of your own goes through ``AccelOnnxConverter`` and ``AccelContainerImage``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.sdk.exceptions import UserErrorException

__all__ = [
    "Densenet121",
    "QuantizedDensenet121",
    "QuantizedResnet50",
    "QuantizedResnet152",
    "QuantizedSsdVgg",
    "QuantizedVgg16",
    "Resnet50",
    "Resnet152",
    "SsdVgg",
    "Vgg16",
    "preprocess_array",
]

_INSTEAD = (
    "deploy a model of your own with AccelOnnxConverter.convert_tf_model (ONNX or "
    "scikit-learn) and AccelContainerImage instead"
)


@dataclass(frozen=True)
class Weights:
    """Where azureml-accel-models 1.62 downloads one featurizer's weights from, and to."""

    folder: str  #: the folder under ``model_base_path`` (the SDK's ``_modelname``)
    version: str  #: the folder below it (the SDK's ``_modelver``)
    uri: str  #: the checkpoint download the SDK's constructor fetches


class AccelModel:
    """What every featurizer shares: the offline refusal, naming its download."""

    #: The featurizer's weights (each concrete class sets its own).
    weights: Weights

    def __init__(
        self, model_base_path: str, is_frozen: bool = False, custom_weights_directory: Any = None
    ) -> None:
        """Raise as the SDK's constructor would fail here: its first act is the download."""
        target = Path(model_base_path) / self.weights.folder / self.weights.version
        raise UserErrorException(
            f"[emulator] {type(self).__name__} cannot run offline: its TensorFlow weights are a "
            f"download ({self.weights.uri} into {target}) and this machine reaches nothing "
            f"outside it; {_INSTEAD}."
        )


class Resnet50(AccelModel):
    """Float-32 ResNet-50 (features ``[None, 1, 1, 2048]``)."""

    weights = Weights("rn50", "1.1.3", "https://go.microsoft.com/fwlink/?linkid=2025071")

    def __init__(self, model_base_path: str, is_frozen: bool = False) -> None:
        super().__init__(model_base_path, is_frozen)


class QuantizedResnet50(AccelModel):
    """ResNet-50 quantized for the FPGA (features ``[None, 1, 1, 2048]``)."""

    weights = Weights("msfprn50", "1.1.2", "https://go.microsoft.com/fwlink/?linkid=2025081")


class Resnet152(AccelModel):
    """Float-32 ResNet-152 (features ``[None, 1, 1, 2048]``)."""

    weights = Weights("rn152", "1.1.2", "https://go.microsoft.com/fwlink/?linkid=2018638")

    def __init__(self, model_base_path: str, is_frozen: bool = False) -> None:
        super().__init__(model_base_path, is_frozen)


class QuantizedResnet152(AccelModel):
    """ResNet-152 quantized for the FPGA (features ``[None, 1, 1, 2048]``)."""

    weights = Weights("msfprn152", "1.1.3", "https://go.microsoft.com/fwlink/?linkid=2025067")


class Vgg16(AccelModel):
    """Float-32 VGG-16, RGB (features ``[None, 1, 1, 4096]``)."""

    weights = Weights("vgg16", "1.1.3", "https://go.microsoft.com/fwlink/?linkid=2020212")

    def __init__(self, model_base_path: str, is_frozen: bool = False) -> None:
        super().__init__(model_base_path, is_frozen)


class QuantizedVgg16(AccelModel):
    """VGG-16 quantized for the FPGA, RGB (features ``[None, 1, 1, 4096]``)."""

    weights = Weights("msfpvgg16", "1.1.2", "https://go.microsoft.com/fwlink/?linkid=2020300")


class Densenet121(AccelModel):
    """Float-32 DenseNet-121, RGB (features ``[None, 1, 1, 1024]``)."""

    weights = Weights("dn121", "1.1.4", "https://go.microsoft.com/fwlink/?linkid=2025085")

    def __init__(self, model_base_path: str, is_frozen: bool = False) -> None:
        super().__init__(model_base_path, is_frozen)


class QuantizedDensenet121(AccelModel):
    """DenseNet-121 quantized for the FPGA, RGB (features ``[None, 1, 1, 1024]``)."""

    weights = Weights("msfpdn121", "1.1.4", "https://go.microsoft.com/fwlink/?linkid=2025129")


class SsdVgg(AccelModel):
    """Float-32 SSD-VGG object detector, RGB, 300x300 input (twelve box/class tensors)."""

    weights = Weights("vggssd", "1.1.3", "https://go.microsoft.com/fwlink/?linkid=2086501")

    def __init__(self, model_base_path: str, is_frozen: bool = False) -> None:
        super().__init__(model_base_path, is_frozen)


class QuantizedSsdVgg(AccelModel):
    """SSD-VGG quantized for the FPGA, RGB, 300x300 input (twelve box/class tensors)."""

    weights = Weights("msfpvggssd", "1.1.3", "https://go.microsoft.com/fwlink/?linkid=2086713")


def preprocess_array(
    in_images: Any,
    order: str = "RGB",
    scaling_factor: float = 1.0,
    output_height: int = 224,
    output_width: int = 224,
    preserve_aspect_ratio: bool = True,
) -> Any:
    """The SDK's TensorFlow 1.x JPEG-decoding op that feeds the featurizers: refused with them.

    The order is checked first, as the SDK checks it (``ValueError``)."""
    if order not in ("BGR", "RGB"):
        raise ValueError("can only construct in RGB or BGR order.")
    raise UserErrorException(
        "[emulator] preprocess_array cannot run offline: it builds the TensorFlow 1.x input op "
        "of the azureml.accel.models featurizers, whose weights are a download this machine "
        f"cannot make; {_INSTEAD}."
    )
