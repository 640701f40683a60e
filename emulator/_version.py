"""Single source of the package version (read by pyproject and ``amlemu --version``)."""

__version__ = "0.1.0"

#: The azureml-core release whose behaviour the emulator follows (``azureml.core.VERSION``).
SDK_VERSION = "1.61.0"
