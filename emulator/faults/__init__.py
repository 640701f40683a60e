"""Fault injection: failures users cannot cause in Azure on purpose, to test their clients.

``service.faults`` (:class:`ServiceFaults`), :func:`workspace_faults` and, for an SDK v2 online
deployment, :func:`online_deployment_faults` inject; ``amlemu faults``
does the same from a shell. Faults are files under the emulator root (:mod:`.store`), state
any process may write; the image build and cluster provisioning (:mod:`.points`) and, in the
process hosting a service, :mod:`emulator.services.injection` (gateway, launcher, watcher)
apply them.
"""

from emulator.faults.api import (
    FaultHandle,
    OnlineDeploymentFaults,
    ServiceFaults,
    WorkspaceFaults,
    online_deployment_faults,
    service_faults,
    workspace_faults,
)
from emulator.faults.model import Fault, FaultError, FaultKind, FaultState

__all__ = [
    "Fault",
    "FaultError",
    "FaultHandle",
    "FaultKind",
    "FaultState",
    "OnlineDeploymentFaults",
    "ServiceFaults",
    "WorkspaceFaults",
    "online_deployment_faults",
    "service_faults",
    "workspace_faults",
]
