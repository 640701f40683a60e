"""Placing a deployment's replicas on a cluster's nodes, as the Kubernetes scheduler does.

Each replica is a pod requesting ``cpu_cores``, ``memory_gb`` and optionally GPUs or FPGAs. A
pod goes to a node whose allocatable resources, minus what is already requested there, still
cover the request; among those the least allocated node wins (Kubernetes' default spreading).
A pod that fits nowhere makes the deployment ``Unschedulable`` with Kubernetes' event text,
e.g. ``0/3 nodes are available: 3 Insufficient cpu.``
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: Kubernetes resource names as they appear in ``Insufficient <resource>`` reasons.
CPU = "cpu"
MEMORY = "memory"
GPU = "nvidia.com/gpu"
FPGA = "microsoft.com/fpga_catapult"

#: Azure ML's deployment error when pods stay unschedulable (the Kubernetes reason follows).
UNSCHEDULABLE_MESSAGE = (
    "Couldn't Schedule because the kubernetes cluster didn't have available resources after "
    "trying for 00:05:00. You can address this error by either adding more nodes, changing "
    "the SKU of your nodes or changing the resource requirements of your service."
)

_EPSILON = 1e-9


@dataclass(frozen=True)
class Node:
    """One agent node: its VM size's capacity and what pods may request of it."""

    name: str
    vm_size: str
    cores: int
    memory_gb: float
    allocatable_cores: float
    allocatable_memory_gb: float
    gpus: int = 0
    fpgas: int = 0


@dataclass(frozen=True)
class Usage:
    """Resources already requested on one node by pods placed earlier."""

    cpu_cores: float = 0.0
    memory_gb: float = 0.0
    gpus: float = 0.0
    fpgas: int = 0

    def plus(self, cpu_cores: float, memory_gb: float, gpus: float, fpgas: int) -> Usage:
        return Usage(
            self.cpu_cores + cpu_cores,
            self.memory_gb + memory_gb,
            self.gpus + gpus,
            self.fpgas + fpgas,
        )


@dataclass(frozen=True)
class Placement:
    """Where each replica went; ``reason``: Kubernetes' text for the first one that did not fit."""

    replicas: int
    nodes: tuple[str, ...]
    reason: str | None = None

    @property
    def fits(self) -> bool:
        return self.reason is None

    @property
    def state(self) -> str | None:
        """``Unschedulable`` (the service state Azure ML reports) when a replica did not fit."""
        return None if self.fits else "Unschedulable"


def schedule(
    nodes: Sequence[Node],
    replicas: int,
    cpu_cores: float,
    memory_gb: float,
    gpu_cores: float = 0,
    fpgas: int = 0,
    used: Mapping[str, Usage] | None = None,
) -> Placement:
    """Place ``replicas`` pods with the given requests on ``nodes`` (``used``: per-node usage)."""
    usage = {node.name: (used or {}).get(node.name, Usage()) for node in nodes}
    placed: list[str] = []
    for _ in range(replicas):
        candidates = [
            node
            for node in nodes
            if not _insufficient(node, usage[node.name], cpu_cores, memory_gb, gpu_cores, fpgas)
        ]
        if not candidates:
            return Placement(
                replicas,
                tuple(placed),
                _reason(nodes, usage, cpu_cores, memory_gb, gpu_cores, fpgas),
            )
        best = max(candidates, key=lambda node: _free_share(node, usage[node.name]))
        usage[best.name] = usage[best.name].plus(cpu_cores, memory_gb, gpu_cores, fpgas)
        placed.append(best.name)
    return Placement(replicas, tuple(placed))


def _insufficient(
    node: Node, usage: Usage, cpu_cores: float, memory_gb: float, gpus: float, fpgas: int
) -> list[str]:
    missing = []
    if usage.cpu_cores + cpu_cores > node.allocatable_cores + _EPSILON:
        missing.append(CPU)
    if usage.memory_gb + memory_gb > node.allocatable_memory_gb + _EPSILON:
        missing.append(MEMORY)
    if gpus and usage.gpus + gpus > node.gpus + _EPSILON:
        missing.append(GPU)
    if fpgas and usage.fpgas + fpgas > node.fpgas:
        missing.append(FPGA)
    return missing


def _free_share(node: Node, usage: Usage) -> float:
    """Kubernetes' least-allocated score: the mean free fraction of CPU and memory."""
    cpu = 1 - usage.cpu_cores / node.allocatable_cores if node.allocatable_cores else 0.0
    memory = 1 - usage.memory_gb / node.allocatable_memory_gb if node.allocatable_memory_gb else 0.0
    return (cpu + memory) / 2


def _reason(
    nodes: Sequence[Node],
    usage: Mapping[str, Usage],
    cpu_cores: float,
    memory_gb: float,
    gpus: float,
    fpgas: int,
) -> str:
    if not nodes:
        return "no nodes available to schedule pods"
    counts: Counter[str] = Counter()
    for node in nodes:
        for resource in _insufficient(node, usage[node.name], cpu_cores, memory_gb, gpus, fpgas):
            counts[f"Insufficient {resource}"] += 1
    parts = sorted(f"{count} {reason}" for reason, count in counts.items())
    return f"0/{len(nodes)} nodes are available: {', '.join(parts)}."
