"""The container's view of models: ``<app root>/azureml-models/<name>/<version>/<entry>``.

This is the one place that decides where deployed models live and what ``AZUREML_MODEL_DIR``
points at, so the image builder, the runtime and ``get_model_path`` can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from emulator.models.records import ModelRecord
from emulator.store.blobs import BlobStore

MODELS_DIRNAME = "azureml-models"


def model_dir_for(app_root: Path, models: Sequence[ModelRecord]) -> Path:
    """``AZUREML_MODEL_DIR``: the version folder of a single model, else ``azureml-models``."""
    base = Path(app_root) / MODELS_DIRNAME
    if len(models) == 1:
        return base / models[0].name / str(models[0].version)
    return base


def lay_out_models(app_root: Path, models: Sequence[ModelRecord], blobs: BlobStore) -> Path:
    """Write the models of one deployment under ``app_root``; returns ``AZUREML_MODEL_DIR``.

    Registering a file puts that file in the version folder; registering a folder puts the
    folder itself (by its registered name) there, as Azure does.
    """
    seen: set[tuple[str, int]] = set()
    for record in models:
        key = (record.name, record.version)
        if key in seen:
            raise ValueError(f"model {record.model_id} is listed twice in one deployment")
        seen.add(key)
        version_dir = Path(app_root) / MODELS_DIRNAME / record.name / str(record.version)
        version_dir.mkdir(parents=True, exist_ok=True)
        for f in record.files:
            blobs.materialize(f.digest, version_dir / f.path, f.executable)
    return model_dir_for(app_root, models)
