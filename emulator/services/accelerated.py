"""What an accelerated (``AccelContainer``) image asks of its deployment beyond a normal one.

Each replica of an FPGA service requests one ``microsoft.com/fpga_catapult`` device, so such a
service is schedulable only on FPGA nodes (``Standard_PB6s``, one FPGA each); elsewhere it is
``Unschedulable`` with Kubernetes' ``Insufficient microsoft.com/fpga_catapult``, as in Azure.
Its model is also served over gRPC by the cluster's gRPC front (:mod:`.grpc_gateway`), which
loads the very ``.onnx`` file the replicas score over HTTP: the one in the image's app root.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from emulator.exceptions import BadArgument, OperationFailed
from emulator.images.records import ImageRecord
from emulator.models.layout import MODELS_DIRNAME

if TYPE_CHECKING:
    from emulator.accel.session import OnnxModel

ACCEL_FLAVOR = "AccelContainer"
#: Kubernetes' ``microsoft.com/fpga_catapult`` request of every replica of an FPGA service.
FPGAS_PER_REPLICA = 1


def is_accelerated(image: ImageRecord) -> bool:
    return image.flavor == ACCEL_FLAVOR


def fpgas_per_replica(image: ImageRecord) -> int:
    """The FPGAs each replica of ``image`` requests from the scheduler."""
    return FPGAS_PER_REPLICA if is_accelerated(image) else 0


def check_target(image: ImageRecord, compute_type: str) -> None:
    """Accelerated images run on FPGA nodes, which only AKS clusters have."""
    if is_accelerated(image) and compute_type != "AKS":
        raise BadArgument(
            f"Image {image.image_id} is an accelerated ({ACCEL_FLAVOR}) image: it can only be "
            f"deployed to an AKS cluster with FPGA nodes, not to {compute_type}. [emulator] "
            'Provision AksCompute.provisioning_configuration(vm_size="Standard_PB6s", '
            'agent_count=1, location="eastus") and pass it as deployment_target with '
            "AksWebservice.deploy_configuration()."
        )


def load_model(image: ImageRecord) -> OnnxModel | None:
    """The ONNX model an accelerated image serves, loaded for the gRPC front (None for other
    images). The build context's app root holds the models for every builder."""
    if not is_accelerated(image):
        return None
    try:
        from emulator.accel.score_onnx import find_onnx
        from emulator.accel.session import OnnxModel
    except ImportError as exc:
        raise OperationFailed(
            f"Serving the accelerated image {image.image_id} over gRPC needs onnxruntime and "
            f"grpcio ({exc}). [emulator] pip install 'azureml-emulator[accel]'"
        ) from exc
    models = Path(image.directory) / "context" / "azureml-app" / MODELS_DIRNAME
    return OnnxModel.load(find_onnx(models))
