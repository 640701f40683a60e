"""pytest plugin for azureml-emulator (entry point ``pytest11: azureml_emulator``).

The fixtures, options, markers and the spec-file format are documented in
:mod:`pytest_amlemu.plugin`.
"""

from pytest_amlemu.failures import DeploymentFailed

__all__ = ["DeploymentFailed"]
