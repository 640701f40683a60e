"""No-code MLflow deployments: a model registered as ``mlflow_model`` (an ``MLmodel`` folder)
deployed to an online or batch endpoint without a scoring script or environment, as in Azure.

Azure's rules, checked before a deployment is stored: a scoring script needs an environment
(only MLflow models deploy without one, and then without a script too: the script wins over
the no-code path once given); an environment needs a scoring script; a model of another type
needs both (Triton repositories aside, :mod:`emulator.endpoints.triton`).

The image of a no-code MLflow deployment is an ordinary image build: its environment derived
from the model's own files (:mod:`emulator.environments.mlflow_model`), its entry script the
emulator's copy of Azure's MLflow scoring script (:mod:`emulator.server.mlflow_score`), so the
image cache, the build log and build failures are those of every deployment. Batch jobs of such
a deployment run Azure's built-in batch driver in that same image
(:mod:`emulator.batch.mlflow_driver`, chosen by :mod:`emulator.state.batch_runs`).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path
from typing import Any

from emulator.environments.mlflow_model import read_mlflow_model, serving_environment
from emulator.exceptions import BadArgument
from emulator.images.context import ImageRequest
from emulator.models.records import ModelRecord
from emulator.models.registry import ModelRegistry

#: The SDK v2 model type of an MLflow model folder (``AssetTypes.MLFLOW_MODEL``).
MLFLOW_MODEL = "mlflow_model"
#: Model types Azure deploys without code and environment.
NO_CODE_TYPES = frozenset({MLFLOW_MODEL, "triton_model"})
#: The entry script's name in the image (Azure's MLflow images call theirs so).
ENTRY_SCRIPT = "mlflow_score_script.py"
_MODEL_ID = re.compile(r".*/models/(?P<name>[^/]+)/versions/(?P<version>\d+)")


def is_mlflow(model: ModelRecord) -> bool:
    """Whether the model was registered as an MLflow model (``mlflow_model``)."""
    return model.v2_type == MLFLOW_MODEL


def is_no_code_mlflow(properties: dict[str, Any], model: ModelRecord) -> bool:
    """Whether a deployment of ``model`` with ``properties`` is served without a script."""
    return is_mlflow(model) and not properties.get("codeConfiguration")


def model_of(models: ModelRegistry, arm_id: str) -> ModelRecord | None:
    """The registered model version an ARM id names (``None``: not one of this workspace's;
    provisioning reports that itself)."""
    found = _MODEL_ID.fullmatch(arm_id or "")
    return None if found is None else models.get(found["name"], int(found["version"]))


def check_code_and_environment(properties: dict[str, Any], model: ModelRecord | None) -> None:
    """Azure's rules for ``code_configuration`` and ``environment`` (the module docstring):
    :class:`BadArgument` naming what is missing and how to give it."""
    code = bool(properties.get("codeConfiguration"))
    environment = bool(properties.get("environmentId"))
    if code and not environment:
        raise BadArgument(
            "Environment is required when a scoring script (code_configuration) is specified. "
            "Only MLflow models deploy without an environment, and then without a scoring "
            "script too. [emulator] Give the deployment environment= (an Environment with "
            "conda_file and image, or a registered one), or remove code_configuration to "
            "serve an MLflow model the no-code way.",
            code="BadArgument",
        )
    if environment and not code:
        raise BadArgument(
            "A scoring script (code_configuration) is required when an environment is "
            "specified. [emulator] Give code_configuration=CodeConfiguration(code=..., "
            "scoring_script=...), or remove environment to serve an MLflow model the no-code "
            "way (its environment is then derived from the model).",
            code="BadArgument",
        )
    if not code and model is not None and model.v2_type not in NO_CODE_TYPES:
        raise BadArgument(
            f"Model '{model.name}' version {model.version} is a {model.v2_type}: a scoring "
            "script (code_configuration) and an environment are required. Only MLflow and "
            "Triton models deploy without them. [emulator] Register the model with "
            "type=AssetTypes.MLFLOW_MODEL (a folder mlflow saved, with its MLmodel file), or "
            "give the deployment code_configuration and environment.",
            code="BadArgument",
        )


def image_request(models: ModelRegistry, model: ModelRecord, work: Path) -> ImageRequest:
    """What a no-code MLflow deployment's image is built from: the model, the environment
    derived from its files, and the MLflow scoring script as entry script.
    :class:`BadArgument` when the model is not an MLflow model Azure could serve."""
    staged = work / "mlflow-model"
    shutil.rmtree(staged, ignore_errors=True)
    spec = read_mlflow_model(models.materialize(model, staged))
    folder = spec.folder.relative_to(staged).as_posix()
    environment = serving_environment(spec, f"mlflow-{model.name}", folder)
    driver = work / "mlflow-entry"
    driver.mkdir(parents=True, exist_ok=True)
    script = driver / ENTRY_SCRIPT
    shutil.copyfile(_module_file("emulator.server.mlflow_score"), script)
    return ImageRequest(entry_script=script, environment=environment, models=(model,))


def _module_file(module: str) -> Path:
    """The source file of an emulator module that images run as a file (found, not imported:
    it needs packages only the image has)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"The emulator's module {module} is missing from its install.")
    return Path(spec.origin)
