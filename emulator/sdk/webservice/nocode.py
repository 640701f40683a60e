"""No-code deployment: the inference configuration Azure ML generates for a model registered
with ``model_framework`` (scikit-learn or ONNX) when ``Model.deploy`` gets none."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.environments.conda import CondaDependencies
from emulator.environments.environment import Environment
from emulator.sdk.exceptions import UserErrorException
from emulator.sdk.inference_config import InferenceConfig

if TYPE_CHECKING:
    from emulator.sdk.workspace import Workspace

_SCRIPTS = Path(__file__).resolve().parents[2] / "services" / "nocode"
#: framework → (entry script, pip packages; the scikit-learn pin comes from the model)
_FRAMEWORKS = {
    "ScikitLearn": ("score_sklearn.py", ["scikit-learn", "numpy", "joblib"]),
    "Onnx": ("score_onnx.py", ["onnxruntime", "numpy"]),
}


def no_code_inference_config(workspace: Workspace, models: Sequence[Any]) -> InferenceConfig:
    """The generated configuration for the single model in ``models``."""
    from emulator.sdk.model import resolve_models

    records = resolve_models(workspace, models)
    if len(records) != 1:
        raise UserErrorException(
            "You must provide an InferenceConfig when deploying zero or multiple models."
        )
    record = records[0]
    framework = record.framework or "Custom"
    if framework not in _FRAMEWORKS:
        raise UserErrorException(
            "You must provide an InferenceConfig when deploying a model with model_framework "
            f"set to {framework}. Default environments are only provided for these frameworks: "
            f"{sorted(_FRAMEWORKS)}."
        )
    script, packages = _FRAMEWORKS[framework]
    if framework == "ScikitLearn" and record.framework_version:
        packages = [f"scikit-learn=={record.framework_version}", *packages[1:]]
    environment = Environment(f"{framework.lower()}-no-code")
    environment.python.conda_dependencies = CondaDependencies.create(pip_packages=packages)
    return InferenceConfig(entry_script=str(_SCRIPTS / script), environment=environment)
