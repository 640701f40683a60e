"""Azure VM sizes an emulated AKS node can have, and what a node leaves for pods.

A node's *capacity* is its VM size; its *allocatable* resources are what Kubernetes may hand
to pods after AKS's reservations for the kubelet and system daemons (the published AKS
formula: a regressive share of CPU and memory plus a 750 MiB eviction threshold). Scheduling
works on allocatable resources, as the Kubernetes scheduler does.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Regions that offer the FPGA size (``azureml-accel-models`` documentation).
FPGA_REGIONS = ("eastus", "westus2", "westeurope", "southeastasia")

_EVICTION_GB = 750 / 1024


@dataclass(frozen=True)
class VmSize:
    """One Azure VM size: vCPUs, memory (GiB), accelerators, and where it is offered."""

    name: str
    cores: int
    memory_gb: float
    gpus: int = 0
    fpgas: int = 0
    #: Locations offering the size; ``None`` means every location.
    regions: tuple[str, ...] | None = None

    @property
    def allocatable_cores(self) -> float:
        """vCPUs left for pods after AKS's CPU reservation."""
        return round(self.cores - _reserved_millicores(self.cores) / 1000, 3)

    @property
    def allocatable_memory_gb(self) -> float:
        """Memory (GiB) left for pods after AKS's memory reservation and eviction threshold."""
        return round(self.memory_gb - _reserved_memory_gb(self.memory_gb) - _EVICTION_GB, 3)

    @property
    def supports_aml_compute(self) -> bool:
        """Whether Azure ML clusters (AmlCompute) offer the size: FPGA sizes are AKS-only."""
        return not self.fpgas

    def offered_in(self, location: str) -> bool:
        return self.regions is None or location.lower() in self.regions


def _reserved_millicores(cores: int) -> int:
    """AKS kube-reserved CPU: 60m for 1 core, 100m for 2, +20m per core to 4, +10m beyond."""
    if cores <= 1:
        return 60
    if cores <= 4:
        return 100 + 20 * (cores - 2)
    return 140 + 10 * (cores - 4)


def _reserved_memory_gb(memory_gb: float) -> float:
    """AKS kube-reserved memory: 25 % of the first 4 GiB, 20 % of the next 4, 10 % of the next
    8, 6 % of the next 112 and 2 % of the rest."""
    tiers = ((4.0, 0.25), (4.0, 0.20), (8.0, 0.10), (112.0, 0.06), (float("inf"), 0.02))
    left, reserved = memory_gb, 0.0
    for size, share in tiers:
        part = min(left, size)
        reserved += part * share
        left -= part
        if left <= 0:
            break
    return reserved


def _sizes() -> dict[str, VmSize]:
    sizes: list[VmSize] = []
    # General purpose Dv2 / DSv2 (memory-optimised D11-D14 included): 3.5 GiB per vCPU.
    for prefix in ("D", "DS"):
        for n, cores in ((1, 1), (2, 2), (3, 4), (4, 8), (5, 16)):
            sizes.append(VmSize(f"Standard_{prefix}{n}_v2", cores, 3.5 * cores))
        for n, cores in ((11, 2), (12, 4), (13, 8), (14, 16)):
            sizes.append(VmSize(f"Standard_{prefix}{n}_v2", cores, 7.0 * cores))
    # General purpose Dv3 / Dsv3: 4 GiB per vCPU.
    for cores in (2, 4, 8, 16, 32, 48, 64):
        sizes.append(VmSize(f"Standard_D{cores}_v3", cores, 4.0 * cores))
        sizes.append(VmSize(f"Standard_D{cores}s_v3", cores, 4.0 * cores))
    # Compute optimised Fsv2: 2 GiB per vCPU.
    for cores in (2, 4, 8, 16, 32, 48, 64, 72):
        sizes.append(VmSize(f"Standard_F{cores}s_v2", cores, 2.0 * cores))
    # Memory optimised Esv3 (managed online endpoints offer them): 8 GiB per vCPU, 432 for 64.
    for cores in (2, 4, 8, 16, 20, 32, 48, 64):
        sizes.append(VmSize(f"Standard_E{cores}s_v3", cores, 432.0 if cores == 64 else 8.0 * cores))
    # Burstable and entry level sizes often used for dev/test clusters.
    sizes += [
        VmSize("Standard_A2_v2", 2, 4.0),
        VmSize("Standard_A4_v2", 4, 8.0),
        VmSize("Standard_A8_v2", 8, 16.0),
        VmSize("Standard_B2s", 2, 4.0),
        VmSize("Standard_B2ms", 2, 8.0),
        VmSize("Standard_B4ms", 4, 16.0),
    ]
    # GPU: NC (K80), NCv3 (V100).
    sizes += [
        VmSize("Standard_NC6", 6, 56.0, gpus=1),
        VmSize("Standard_NC12", 12, 112.0, gpus=2),
        VmSize("Standard_NC24", 24, 224.0, gpus=4),
        VmSize("Standard_NC6s_v3", 6, 112.0, gpus=1),
        VmSize("Standard_NC12s_v3", 12, 224.0, gpus=2),
        VmSize("Standard_NC24s_v3", 24, 448.0, gpus=4),
    ]
    # FPGA (Project Brainwave, Intel Arria 10): the size azureml-accel-models deploys to.
    sizes.append(VmSize("Standard_PB6s", 6, 112.0, fpgas=1, regions=FPGA_REGIONS))
    return {size.name: size for size in sizes}


#: Every VM size the emulator knows, by its Azure name.
VM_SIZES: dict[str, VmSize] = _sizes()


def find_vm_size(name: str) -> VmSize | None:
    """The size called ``name`` (Azure compares size names case-insensitively)."""
    wanted = name.strip().lower()
    for size in VM_SIZES.values():
        if size.name.lower() == wanted:
            return size
    return None
