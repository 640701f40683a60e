"""Fault injection: failures users cannot cause in Azure on purpose, to test their clients.

``service.faults`` (:class:`ServiceFaults`) and :func:`workspace_faults` inject; ``amlemu faults``
does the same from a shell. Faults are files under the emulator root (:mod:`.store`), state
any process may write; the image build and cluster provisioning (:mod:`.points`) and, in the
process hosting a service, :mod:`emulator.services.injection` (gateway, launcher, watcher)
apply them.
"""

from emulator.faults.api import (
    FaultHandle,
    ServiceFaults,
    WorkspaceFaults,
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
    "ServiceFaults",
    "WorkspaceFaults",
    "service_faults",
    "workspace_faults",
]
