"""The ``azureml.*`` faces: SDK-shaped classes over the state layers (emulator/shim.py maps
the ``azureml.*`` import paths onto them)."""
