"""Triton Inference Server's HTTP contract (the Open Inference Protocol, KServe V2) on ONNX
Runtime: what Azure's no-code Triton deployments (models registered as ``triton_model``) answer.

A Triton model repository (``<repo>/<model>/config.pbtxt`` + ``<repo>/<model>/<version>/
model.onnx``) is read by :mod:`.config` and :mod:`.repository`, requests and answers are coded
by :mod:`.tensors` (JSON tensors and the binary tensor extension), and :mod:`.app` routes them;
:mod:`.replica` serves them as one replica of a deployment. It imports only the standard library,
NumPy and ONNX Runtime (loaded when a repository is): this package's own module imports nothing,
so the scoring server can tell whether a replica is Triton's without them.
"""

#: The replica's variable naming its model repository, relative to ``AZUREML_MODEL_DIR``: when
#: set, ``python -m emulator serve`` runs Triton's server (:mod:`.replica`), not azmlinfsrv's.
REPOSITORY_ENV = "AMLEMU_TRITON_MODEL_REPOSITORY"
#: Where the image lays the deployment's model out (Azure's variable).
MODEL_DIR_ENV = "AZUREML_MODEL_DIR"
#: Where the probes ask a Triton replica: its liveness and readiness routes.
PROBE_PATHS = ("/v2/health/live", "/v2/health/ready")
#: The path prefix of the V2 protocol, under which a Triton deployment is scored.
PROTOCOL_PREFIX = "/v2"
