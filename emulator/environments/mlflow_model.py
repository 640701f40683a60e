"""The serving environment of an MLflow model, derived from the model's own files, as Azure does.

Azure deploys a model registered as ``mlflow_model`` without an environment: it reads the
``MLmodel`` file, takes the ``python_function`` flavor's environment (``conda.yaml``; else
``python_env.yaml`` with its requirements; else ``requirements.txt``) and adds its inference
server. The result here is an ordinary :class:`~emulator.environments.environment.Environment`,
so the image build, its cache (keyed by the environment), its log and its failures are those of
any other deployment. ``mlflow`` itself comes from the model's own list (``mlflow`` or
``mlflow-skinny``, installed into the image, never into the emulator); a list naming neither
gets ``mlflow`` added, since the scoring entry loads the model with ``mlflow.pyfunc``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from packaging.utils import canonicalize_name

from emulator.environments.conda import CondaDependencies, _pip_name
from emulator.environments.environment import Environment, _requirement_lines
from emulator.exceptions import BadArgument

#: The file that makes a folder an MLflow model.
MLMODEL = "MLmodel"
#: The flavor Azure serves an MLflow model through (``mlflow.pyfunc.load_model``).
PYFUNC = "python_function"
#: The variable naming the model's folder under ``AZUREML_MODEL_DIR`` (Azure's name).
MODEL_FOLDER_ENV = "MLFLOW_MODEL_FOLDER"
#: What Azure adds to the model's environment: its inference server (the emulator's server
#: answers for it in the image, :mod:`emulator.environments.provided`).
INFERENCE_SERVER = "azureml-inference-server-http"
_MLFLOW_DISTRIBUTIONS = frozenset({"mlflow", "mlflow-skinny"})


@dataclass(frozen=True)
class MLflowModel:
    """An MLflow model folder as Azure reads it: where it is, its flavors, its pyfunc loader
    and the environment files its ``python_function`` flavor names."""

    folder: Path
    flavors: tuple[str, ...]
    loader_module: str
    conda_file: Path | None
    python_env_file: Path | None
    requirements_file: Path | None


def mlmodel_folder(path: Path) -> Path:
    """The folder holding ``MLmodel`` in a materialized model (the registered folder itself, or
    the one folder under it that has it); :class:`BadArgument` when there is none."""
    if (path / MLMODEL).is_file():
        return path
    found = sorted(p.parent for p in path.rglob(MLMODEL) if p.is_file()) if path.is_dir() else []
    if not found:
        raise BadArgument(
            f"The model at '{path.name}' is registered as mlflow_model but has no {MLMODEL} "
            "file. [emulator] Register the folder mlflow.<flavor>.save_model wrote (the one "
            f"holding {MLMODEL}), or register the model as custom_model and deploy it with "
            "code_configuration and environment.",
            code="UserError",
        )
    return found[0]


def read_mlflow_model(path: Path) -> MLflowModel:
    """``path``'s ``MLmodel`` read: :class:`BadArgument` when it is not YAML or has no
    ``python_function`` flavor (Azure serves only pyfunc models without a scoring script)."""
    folder = mlmodel_folder(path)
    try:
        spec = yaml.safe_load((folder / MLMODEL).read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BadArgument(
            f"The {MLMODEL} file of model folder '{folder.name}' is not valid YAML: {exc}",
            code="UserError",
        ) from None
    flavors = spec.get("flavors") if isinstance(spec, dict) else None
    if not isinstance(flavors, dict) or not isinstance(flavors.get(PYFUNC), dict):
        names = ", ".join(sorted(flavors)) if isinstance(flavors, dict) else "none"
        raise BadArgument(
            f"The MLflow model in '{folder.name}' has no {PYFUNC} flavor (its flavors: "
            f"{names}). MLflow models are deployed without a scoring script only through "
            f"{PYFUNC}. [emulator] Save the model with a flavor that adds it "
            "(mlflow.sklearn.save_model, mlflow.pyfunc.save_model, ...) or deploy it with "
            "code_configuration and environment.",
            code="UserError",
        )
    pyfunc: dict[str, Any] = flavors[PYFUNC]
    env = pyfunc.get("env")
    conda_name = env.get("conda") if isinstance(env, dict) else env
    venv_name = env.get("virtualenv") if isinstance(env, dict) else None

    def present(name: object, default: str) -> Path | None:
        file = _model_file(folder, str(name or default))
        return file if file.is_file() else None

    return MLflowModel(
        folder=folder,
        flavors=tuple(sorted(flavors)),
        loader_module=str(pyfunc.get("loader_module") or ""),
        conda_file=present(conda_name, "conda.yaml"),
        python_env_file=present(venv_name, "python_env.yaml"),
        requirements_file=present(None, "requirements.txt"),
    )


def serving_environment(model: MLflowModel, name: str, model_folder: str) -> Environment:
    """The environment Azure derives for ``model``: its conda file, else its ``python_env.yaml``
    and requirements, else its requirements alone; plus the inference server, ``mlflow`` when
    the model lists neither ``mlflow`` nor ``mlflow-skinny``, and :data:`MODEL_FOLDER_ENV` =
    ``model_folder`` (the MLmodel's folder relative to ``AZUREML_MODEL_DIR``)."""
    if model.conda_file is not None:
        conda = _conda(model.conda_file)
    elif model.python_env_file is not None:
        conda = _python_env(model.python_env_file)
    elif model.requirements_file is not None:
        conda = CondaDependencies.create(pip_packages=[])  # no SDK defaults
        for line in _requirements(model.requirements_file):
            conda.add_pip_package(line)
    else:
        raise BadArgument(
            f"The MLflow model in '{model.folder.name}' names no environment: none of "
            "conda.yaml, python_env.yaml, requirements.txt is in its folder. [emulator] Save it "
            "with mlflow (which writes them) or add a conda.yaml listing its packages.",
            code="UserError",
        )
    listed = {canonicalize_name(_pip_name(line)) for line in conda.pip_packages}
    if not listed & _MLFLOW_DISTRIBUTIONS:
        conda.add_pip_package("mlflow")
    if INFERENCE_SERVER not in listed:
        conda.add_pip_package(INFERENCE_SERVER)
    environment = Environment(name)
    environment.python.conda_dependencies = conda
    environment.environment_variables = {MODEL_FOLDER_ENV: model_folder}
    return environment


def _conda(path: Path) -> CondaDependencies:
    try:
        return CondaDependencies(path)
    except Exception as exc:  # the v1 SDK's UserErrorException, which this layer cannot name
        raise BadArgument(
            f"The MLflow model's {path.name} is not a conda specification Azure can build: {exc}",
            code="UserError",
        ) from None


def _python_env(path: Path) -> CondaDependencies:
    """``python_env.yaml``: ``python`` and ``dependencies`` (requirement lines, ``-r file``)."""
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BadArgument(f"The MLflow model's {path.name} is not valid YAML: {exc}") from None
    if not isinstance(spec, dict):
        raise BadArgument(f"The MLflow model's {path.name} is not a mapping.", code="UserError")
    conda = CondaDependencies.create(pip_packages=[])  # no SDK defaults
    if spec.get("python"):
        conda.set_python_version(str(spec["python"]))
    for entry in spec.get("dependencies") or []:
        line = str(entry).strip()
        if line.startswith("-r"):
            for requirement in _requirements(_model_file(path.parent, line[2:].strip())):
                conda.add_pip_package(requirement)
        else:
            conda.add_pip_package(line)
    return conda


def _model_file(folder: Path, name: str) -> Path:
    """``name`` (from ``MLmodel``, ``python_env.yaml`` or a ``-r`` line) as a file of the model
    ``folder``: a name reaching outside it (``..``, an absolute path) is refused, so a model
    cannot put a file of the host into an image build."""
    file = folder / name
    if not file.resolve().is_relative_to(folder.resolve()):
        raise BadArgument(
            f"The MLflow model in '{folder.name}' names '{name}', which is outside its folder. "
            "[emulator] Keep the environment files (conda.yaml, python_env.yaml, "
            "requirements.txt) in the model's folder and name them relative to it.",
            code="UserError",
        )
    return file


def _requirements(path: Path, including: tuple[Path, ...] = ()) -> list[str]:
    """The requirement lines of a requirements file of the model (``-r`` followed, within the
    model's folder, a file that includes itself refused; other pip options refused by name: the
    build installs requirements, not option files)."""
    if path.resolve() in including:
        raise BadArgument(
            f"The MLflow model's {path.name} includes itself (-r). [emulator] Remove the "
            "-r line that leads back to it.",
            code="UserError",
        )
    if not path.is_file():
        raise BadArgument(
            f"The MLflow model's environment names '{path.name}', which is not in its folder.",
            code="UserError",
        )
    lines: list[str] = []
    for line in _requirement_lines(path.read_text(encoding="utf-8")):
        if line.startswith("-r"):
            included = _model_file(path.parent, line[2:].strip())
            lines.extend(_requirements(included, (*including, path.resolve())))
        elif line.startswith("-"):
            raise BadArgument(
                f"The MLflow model's {path.name} has the pip option '{line}', which the "
                "emulator does not apply. [emulator] Write the packages themselves into "
                "conda.yaml (pip section) or requirements.txt.",
                code="UserError",
            )
        else:
            lines.append(line)
    return lines
