"""Injection points outside services: the next image build, the next cluster provisioning.

The image build and the compute registry each call one function here at the moment Azure could
fail them; it uses up one attempt of a pending workspace fault and says how to fail, or returns
``None``. Only the fault store is imported, so the build and compute layers stay light.
"""

from __future__ import annotations

from pathlib import Path

from emulator.faults.model import FaultKind
from emulator.faults.store import FaultStore

FAULT_STEP = "Fault injection"


def image_build_failure(root: Path, workspace_id: int) -> str | None:
    """The failure message when an ``image-build`` fault takes this build, else ``None``."""
    fault = FaultStore.for_workspace(root, workspace_id).take(FaultKind.IMAGE_BUILD)
    if fault is None:
        return None
    return (
        f"[emulator] fault {fault.id} applied: this image build fails (attempt {fault.used} of "
        f"{fault.times}). Injected with workspace faults (fail_image_build) or amlemu faults "
        "inject @workspace image-build."
    )


def provisioning_error(root: Path, workspace_id: int) -> dict[str, object] | None:
    """The provisioning error when a ``provisioning`` fault takes this cluster creation."""
    fault = FaultStore.for_workspace(root, workspace_id).take(FaultKind.PROVISIONING)
    if fault is None:
        return None
    return {
        "code": "ClusterProvisioningFailed",
        "message": (
            "Compute provisioning failed: the AKS cluster could not be created. [emulator] "
            f"fault {fault.id} applied (attempt {fault.used} of {fault.times}); injected with "
            "workspace faults (fail_provisioning) or amlemu faults inject @workspace "
            "provisioning."
        ),
    }
