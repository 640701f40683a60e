"""Containers: a built image started as a supervised process or Docker container.

``Container(ContainerConfig(name, image_location, ...)).start()`` runs one replica (see
:mod:`emulator.runtime.container`); backends (:mod:`emulator.runtime.backends`) start the runs,
:mod:`emulator.runtime.reaper` makes sure none outlives its Python process.
"""

from emulator.runtime.container import (
    Container,
    ContainerConfig,
    ContainerState,
    ContainerStatus,
    RestartPolicy,
)
from emulator.runtime.probes import ProbeSettings

__all__ = [
    "Container",
    "ContainerConfig",
    "ContainerState",
    "ContainerStatus",
    "ProbeSettings",
    "RestartPolicy",
]
