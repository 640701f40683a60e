"""Environments: conda/pip specs, the ``Environment`` definition and its image hash."""

from emulator.environments.conda import CondaDependencies
from emulator.environments.environment import Environment
from emulator.environments.hashing import environment_hash

__all__ = ["CondaDependencies", "Environment", "environment_hash"]
