"""The ``azureml.*`` faces: SDK-shaped classes over the state layers, and the import shim."""
