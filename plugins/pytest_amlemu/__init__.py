"""pytest plugin for azureml-emulator (entry point ``pytest11: azureml_emulator``)."""
