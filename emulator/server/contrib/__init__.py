"""``azureml.contrib.services``: the raw-HTTP helpers scoring scripts import.

Scripts import them as ``azureml.contrib.services.aml_request`` / ``aml_response`` (or as
``azureml_inference_server_http.api.*``); the workers register those names before loading the
entry script, exactly as azmlinfsrv does, so they work without azureml-core installed.
"""

from emulator.server.raw_http import rawhttp

#: What ``azureml.contrib.services`` itself exports (azureml-contrib-services' ``__init__``).
__all__ = ["rawhttp"]
