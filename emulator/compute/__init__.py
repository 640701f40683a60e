"""Emulated compute: AKS clusters with nodes sized from Azure VM sizes, quota and scheduling.

State only (no SDK imports): :mod:`.vm_sizes` (cores, memory, GPUs, FPGAs and what a node
leaves allocatable), :mod:`.rules` (Azure's checks on a cluster request and their messages),
:mod:`.scheduling` (does a deployment's replicas fit on the nodes; Kubernetes' reason text
when not), :mod:`.registry` (clusters in SQLite, asynchronous provisioning, the core quota,
replica reservations).
"""

from emulator.compute.records import ClusterRecord, ProvisioningState
from emulator.compute.registry import ComputeRegistry
from emulator.compute.scheduling import Node, Placement, schedule
from emulator.compute.vm_sizes import VM_SIZES, VmSize, find_vm_size

__all__ = [
    "VM_SIZES",
    "ClusterRecord",
    "ComputeRegistry",
    "Node",
    "Placement",
    "ProvisioningState",
    "VmSize",
    "find_vm_size",
    "schedule",
]
