"""No-code Triton deployments: a model registered as ``triton_model`` (a Triton model
repository), deployed without a scoring script or environment, served with Triton's V2 protocol
on ONNX Runtime by replicas like every other online deployment's.

Azure deploys a ``triton_model`` with neither ``code_configuration`` nor ``environment`` onto
its Triton image; the endpoint's scoring URI base then answers ``/v2/...``. Here the image is
built by the emulator's builder like any deployment's (:func:`image_request`): the model laid
out under ``AZUREML_MODEL_DIR`` and an environment of the packages the server needs (NumPy, ONNX
Runtime: installed into the image, so the emulator's own process needs neither). Its replicas
(:func:`replicas`) run that server instead of azmlinfsrv: ``instance_count`` of them behind the
deployment's gateway, probed at ``/v2/health/live`` and ``/v2/health/ready``, the V2 routes
scored as ``/score`` is (``request_settings``, faults). A repository Triton would refuse (a
backend other than ONNX, no version, a config that does not match its graph) crashes the
replicas, and the deployment fails with the reason in the log's tail, as Azure's does.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import shutil
from pathlib import Path

from emulator.endpoints.deployments import DeploymentRecord
from emulator.environments.conda import CondaDependencies
from emulator.environments.environment import Environment
from emulator.images.context import ImageRequest
from emulator.models.records import ModelRecord
from emulator.server.triton import PROBE_PATHS, PROTOCOL_PREFIX, REPOSITORY_ENV
from emulator.services.deployment import ReplicaTemplate

#: The SDK v2 model type of a Triton model repository (``AssetTypes.TRITON_MODEL``).
TRITON_MODEL = "triton_model"
#: What the server needs in the image (the ``accel`` extra's packages; ``onnx`` is not needed).
PACKAGES = ("numpy", "onnxruntime")
#: The image's entry script: the replica module's source, under the name of the program Azure's
#: Triton image runs. A build needs one; the replicas run that module from the image's copy of
#: the emulator (``serve`` hands over to it, see :mod:`emulator.server.triton.replica`).
ENTRY_SCRIPT = "tritonserver.py"


def is_no_code(record: DeploymentRecord) -> bool:
    """Whether the deployment names neither code nor environment (Azure's no-code case)."""
    props = record.properties
    return not props.get("codeConfiguration") and not props.get("environmentId")


def is_triton(model: ModelRecord) -> bool:
    """Whether the model was registered as a Triton model repository (``triton_model``)."""
    return model.v2_type == TRITON_MODEL


def image_request(model: ModelRecord, work: Path) -> ImageRequest:
    """What a Triton deployment's image is built from: the repository as its model, the
    server's packages, the replica module as entry script (staged under ``work``)."""
    folder = work / "triton-entry"
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / ENTRY_SCRIPT
    spec = importlib.util.find_spec("emulator.server.triton.replica")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("The emulator's module emulator.server.triton.replica is missing.")
    shutil.copyfile(spec.origin, script)
    environment = Environment(f"triton-{model.name}")
    environment.python.conda_dependencies = CondaDependencies.create(pip_packages=list(PACKAGES))
    return ImageRequest(entry_script=script, environment=environment, models=(model,))


def replicas(template: ReplicaTemplate, model: ModelRecord) -> ReplicaTemplate:
    """``template`` (the image's replicas, as any deployment's) made Triton's: the repository
    named to the server, the probes at its health routes, ``/v2`` scored."""
    return dataclasses.replace(
        template,
        environment={**template.environment, REPOSITORY_ENV: model.root_name},
        probe_paths=PROBE_PATHS,
        scoring_prefix=PROTOCOL_PREFIX,
    )
