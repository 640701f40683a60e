"""Where a registered model's files come from and go: the SDK's rules for ``model_path`` at
registration, and ``Model.get_model_path``'s download into the local models cache."""

from __future__ import annotations

import os
from pathlib import Path

from emulator.models.resolution import models_dir
from emulator.sdk.exceptions import ModelNotFoundException
from emulator.sdk.workspace import Workspace


def checked_source(model_path: str | os.PathLike[str]) -> Path:
    """The SDK's path rules: it must exist and lie inside the current working directory."""
    cwd = os.getcwd()
    full = os.path.normpath(os.path.join(cwd, os.fspath(model_path)))
    if not os.path.exists(full):
        raise FileNotFoundError(
            f"Path does not exist: {full} [emulator] model_path is resolved against the working "
            f"directory {cwd}; check the spelling or chdir to where the model is."
        )
    if os.path.commonpath([cwd, full]) != cwd:
        raise PermissionError(
            "Unauthorized access: Path outside current working directory. [emulator] Azure ML "
            f"only uploads paths under the working directory ({cwd}); {full} is outside it. "
            "Copy the model below the working directory or chdir to its parent first."
        )
    return Path(full)


def download_into_cache(workspace: Workspace, model_name: str, version: int | None) -> str:
    """The SDK's remote branch: download into ``MODELS_DIR/<name>/<version>``."""
    record = workspace.emulator_state.models.get(model_name, version)
    if record is None:
        known = sorted(f"{r.name}/{r.version}" for r in workspace.emulator_state.models.records())
        raise ModelNotFoundException(
            f"Model/Version {model_name}/{version} not found in workspace. {known}"
        )
    target = os.path.join(models_dir(), record.name, str(record.version))
    workspace.emulator_state.models.materialize(record, Path(target), exist_ok=True)
    return os.path.join(target, record.root_name)
