"""Immutable records of compute targets (emulated AKS clusters), as read from the database.

A row keeps the phase it is in (``state``) and, while an operation runs, the phase it reaches
(``pending_state``) at ``ready_at``. The state a reader sees is computed from those and the
clock, so provisioning goes on "in the background" across processes without any thread or
process having to survive: whoever reads after ``ready_at`` sees the settled state.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import Enum
from sqlite3 import Row

from emulator.compute.scheduling import Node
from emulator.compute.vm_sizes import VmSize, find_vm_size


class ProvisioningState(str, Enum):
    """``ComputeTarget.provisioning_state`` values (the terminal ones end polling)."""

    CREATING = "Creating"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    DELETING = "Deleting"
    #: Internal: a deletion that completed (the row is gone for every reader).
    DELETED = "Deleted"

    @property
    def terminal(self) -> bool:
        return self in (ProvisioningState.SUCCEEDED, ProvisioningState.FAILED)


class ClusterPurpose(str, Enum):
    """AKS cluster purposes: production (at least 12 vCPUs) or dev/test (one node is enough)."""

    FAST_PROD = "FastProd"
    DEV_TEST = "DevTest"


@dataclass(frozen=True)
class ClusterRecord:
    """One compute target: an AKS cluster attached to (or created by) a workspace."""

    id: int
    workspace_id: int | None
    name: str | None
    compute_type: str
    subscription_id: str
    resource_group: str
    cluster_name: str
    location: str
    vm_size: str
    agent_count: int
    cluster_purpose: str
    load_balancer_type: str
    load_balancer_subnet: str | None
    ssl: dict[str, str]
    description: str | None
    tags: dict[str, str]
    is_attached: bool
    state: ProvisioningState
    errors: tuple[dict[str, object], ...]
    created_time: str
    updated_time: str

    @property
    def size(self) -> VmSize:
        size = find_vm_size(self.vm_size)
        if size is None:  # only sizes from the table are ever stored
            raise LookupError(f"unknown VM size {self.vm_size!r}")
        return size

    @property
    def cores(self) -> int:
        """vCPUs of the whole cluster (what the core quota counts)."""
        return self.agent_count * self.size.cores

    @property
    def cluster_resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourcegroups/{self.resource_group}"
            f"/providers/Microsoft.ContainerService/managedClusters/{self.cluster_name}"
        )

    @property
    def cluster_fqdn(self) -> str:
        return f"{self.cluster_name}-{self._digest[:8]}.hcp.{self.location}.azmk8s.io"

    @property
    def nodes(self) -> tuple[Node, ...]:
        """The agent nodes (``aks-agentpool-<id>-vmss00000<n>``); none unless ``Succeeded``."""
        if self.state is not ProvisioningState.SUCCEEDED:
            return ()
        size = self.size
        pool = str(int(self._digest[:8], 16) % 10**8).zfill(8)
        return tuple(
            Node(
                name=f"aks-agentpool-{pool}-vmss{_base36(index).zfill(6)}",
                vm_size=size.name,
                cores=size.cores,
                memory_gb=size.memory_gb,
                allocatable_cores=size.allocatable_cores,
                allocatable_memory_gb=size.allocatable_memory_gb,
                gpus=size.gpus,
                fpgas=size.fpgas,
            )
            for index in range(self.agent_count)
        )

    @property
    def _digest(self) -> str:
        return hashlib.sha256(self.cluster_resource_id.lower().encode()).hexdigest()

    @classmethod
    def from_row(cls, row: Row, now: float) -> ClusterRecord:
        state = ProvisioningState(row["state"])
        if row["pending_state"] and now >= row["ready_at"]:
            state = ProvisioningState(row["pending_state"])
        return cls(
            id=row["id"],
            workspace_id=row["workspace_id"],
            name=row["name"],
            compute_type=row["compute_type"],
            subscription_id=row["subscription_id"],
            resource_group=row["resource_group"],
            cluster_name=row["cluster_name"],
            location=row["location"],
            vm_size=row["vm_size"],
            agent_count=row["agent_count"],
            cluster_purpose=row["cluster_purpose"],
            load_balancer_type=row["load_balancer_type"],
            load_balancer_subnet=row["load_balancer_subnet"],
            ssl=json.loads(row["ssl"]),
            description=row["description"],
            tags=json.loads(row["tags"]),
            is_attached=bool(row["is_attached"]),
            state=state,
            errors=tuple(json.loads(row["errors"])) if state is ProvisioningState.FAILED else (),
            created_time=row["created_time"],
            updated_time=row["updated_time"],
        )


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if number == 0:
            return text
