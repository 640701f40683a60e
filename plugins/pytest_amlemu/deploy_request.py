"""What ``aml_deploy`` was asked for, checked and normalized before anything is deployed.

Paths are looked up in the working directory (the SDK's rule) and then beside the test file,
so a suite can keep its scoring scripts and models next to its tests and run from anywhere.
Bad input fails here, with the value, where it was looked for and the fix.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.environments import CondaDependencies, Environment
from emulator.sdk.model import Model
from pytest_amlemu.options import TARGETS

ENVIRONMENT_NAME = "aml-deploy-env"
#: The inference stack Azure ML needs in every environment (provided by the emulator).
INFERENCE_PACKAGE = "azureml-defaults"
_MODEL_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class DeployRequest:
    """A normalized deployment: absolute paths, models as registered ``Model`` objects or
    ``(name, path)`` pairs, an ``Environment`` or ``None`` (the host's interpreter)."""

    entry_script: Path
    source_directory: Path | None
    models: tuple[Model | tuple[str, Path], ...]
    environment: Environment | None
    target: str
    configuration: Mapping[str, Any]
    name: str | None = None


def build_request(
    entry_script: PathLike,
    models: Sequence[Any] | Mapping[str, PathLike],
    environment: Environment | PathLike | Sequence[str] | None,
    target: str,
    source_directory: PathLike | None,
    configuration: Mapping[str, Any],
    search: Sequence[Path],
    name: str | None = None,
) -> DeployRequest:
    """Check every argument of ``aml_deploy``; ``search`` lists where relative paths may be."""
    if target not in TARGETS:
        raise ValueError(
            f"aml_deploy: target {target!r} is not one of {', '.join(TARGETS)}; pass "
            "target='aci' (default), 'aks' or 'local'."
        )
    source = locate(source_directory, "source_directory", search) if source_directory else None
    if source is not None and not source.is_dir():
        raise NotADirectoryError(f"aml_deploy: source_directory {source} is not a directory.")
    script = locate(entry_script, "entry_script", [source] if source else search)
    if source is not None and not script.is_relative_to(source):
        raise ValueError(
            f"aml_deploy: entry_script {script} is outside source_directory {source}; give it "
            "relative to the source directory, as InferenceConfig expects."
        )
    return DeployRequest(
        entry_script=script,
        source_directory=source,
        models=_models(models, search),
        environment=_environment(environment, search),
        target=target,
        configuration=dict(configuration),
        name=name,
    )


def locate(value: PathLike, what: str, search: Sequence[Path]) -> Path:
    """``value`` as an absolute path: as given when absolute, else the first of ``search``
    that has it."""
    path = Path(value).expanduser()
    candidates = [path] if path.is_absolute() else [folder / path for folder in search]
    for candidate in candidates:
        if candidate.exists():
            return candidate.resolve()
    places = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"aml_deploy: {what} {os.fspath(value)!r} not found (looked at {places}). Give a path "
        "relative to the working directory or to the test file, or an absolute one."
    )


def model_name_for(path: Path) -> str:
    """The name a model file or folder is registered under: its name without extension."""
    stem = path.stem if path.is_file() else path.name
    name = _MODEL_NAME_UNSAFE.sub("-", stem).lstrip("-._")
    return name or "model"


def _models(
    models: Sequence[Any] | Mapping[str, PathLike], search: Sequence[Path]
) -> tuple[Model | tuple[str, Path], ...]:
    if isinstance(models, (str, os.PathLike)):
        raise TypeError(
            f"aml_deploy: models must be a list (or a name -> path mapping), not the single "
            f"path {os.fspath(models)!r}; write models=[{os.fspath(models)!r}]."
        )
    if isinstance(models, Mapping):
        return tuple((str(n), locate(p, f"model {n!r}", search)) for n, p in models.items())
    normalized: list[Model | tuple[str, Path]] = []
    for model in models:
        if isinstance(model, Model):
            normalized.append(model)
        elif isinstance(model, (str, os.PathLike)):
            path = locate(model, "model", search)
            normalized.append((model_name_for(path), path))
        else:
            raise TypeError(
                f"aml_deploy: a model must be a path or a registered Model, not "
                f"{type(model).__name__} ({model!r})."
            )
    return tuple(normalized)


def _environment(
    environment: Environment | PathLike | Sequence[str] | None, search: Sequence[Path]
) -> Environment | None:
    """``None`` (host interpreter), an ``Environment``, a conda YAML or requirements file, or
    a list of pip requirements."""
    if environment is None or isinstance(environment, Environment):
        return environment
    if isinstance(environment, (str, os.PathLike)):
        path = locate(environment, "environment file", search)
        if path.suffix == ".txt":
            return Environment.from_pip_requirements(ENVIRONMENT_NAME, path)
        return Environment.from_conda_specification(ENVIRONMENT_NAME, path)
    if isinstance(environment, Sequence) and all(isinstance(r, str) for r in environment):
        return pip_environment(list(environment))
    raise TypeError(
        "aml_deploy: environment must be None (this interpreter's packages), an Environment, "
        "the path of a conda YAML (or pip requirements .txt) file, or a list of pip "
        f"requirements; got {type(environment).__name__}."
    )


def pip_environment(requirements: list[str]) -> Environment:
    """An environment of these pip requirements (plus the inference stack) on this python."""
    if not any(r.strip().lower().startswith(INFERENCE_PACKAGE) for r in requirements):
        requirements = [INFERENCE_PACKAGE, *requirements]
    env = Environment(ENVIRONMENT_NAME)
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=requirements, python_version=f"{sys.version_info[0]}.{sys.version_info[1]}"
    )
    return env
