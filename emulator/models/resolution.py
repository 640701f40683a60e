"""``Model.get_model_path``'s local lookup, following the SDK's algorithm step by step.

The models directory is ``$AML_APP_ROOT/azureml-models`` (relative ``azureml-models`` when
``AML_APP_ROOT`` is unset). A name's newest integer version is used unless one is given; the
version folder must hold exactly one entry; failing that, ``./<name>`` in the working directory
is accepted. ``AZUREML_MODEL_DIR`` is deliberately not consulted, exactly like the SDK.

The SDK reads ``AML_APP_ROOT`` once at import; the emulator reads it at each call, which gives
the same answer inside a container and does not surprise tests that change it.
"""

from __future__ import annotations

import difflib
import logging
import os

from emulator.exceptions import BadArgument, ModelPathNotFound, OperationFailed
from emulator.models.layout import MODELS_DIRNAME

logger = logging.getLogger("azureml.core.model")


def models_dir() -> str:
    """The SDK's ``MODELS_DIR`` as a string, relative unless ``AML_APP_ROOT`` is set."""
    return os.path.join(os.environ.get("AML_APP_ROOT", ""), MODELS_DIRNAME)


def resolve_local(model_name: str | None, version: int | None = None) -> str:
    """Path of a model that is present on disk, in the shapes the SDK returns."""
    if model_name is None:
        raise BadArgument("model_name is None")
    base = models_dir()
    candidate = os.path.join(base, model_name)
    logger.debug("Looking for model %s (version %s) under %s", model_name, version, base)
    if os.path.exists(candidate):
        if version is None:
            version = _latest_version(candidate)
        version_dir = os.path.join(candidate, str(version))
        if os.path.exists(version_dir):
            entries = os.listdir(version_dir)
            if len(entries) != 1:
                raise OperationFailed(
                    f"Dir {version_dir} can contain only 1 file or folder. Found {entries}"
                )
            path = os.path.join(version_dir, entries[0])
            logger.debug("Found model at %s", path)
            return path
        logger.debug("%s does not exist, trying the working directory", version_dir)
    if os.path.exists(model_name):
        logger.debug("Found model %s in the working directory %s", model_name, os.getcwd())
        return model_name
    raise ModelPathNotFound(
        f"Model {model_name} not found in cache at {base} or in current working directory "
        f"{os.getcwd()}. For more info, set logging level to DEBUG."
        + _hint(model_name, version, base)
    )


def _latest_version(name_dir: str) -> int:
    versions = [int(entry) for entry in os.listdir(name_dir)]
    if not versions:
        raise OperationFailed("versions is empty")
    return max(versions)


def present_models(base: str) -> list[str]:
    """``name/version`` of every model laid out under ``base``, sorted."""
    if not os.path.isdir(base):
        return []
    return sorted(
        f"{name}/{version}"
        for name in os.listdir(base)
        if os.path.isdir(os.path.join(base, name))
        for version in os.listdir(os.path.join(base, name))
    )


def closest_name(name: str, candidates: list[str]) -> str | None:
    """The most similar candidate name, if any is reasonably close."""
    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _hint(model_name: str, version: int | None, base: str) -> str:
    """The emulator's addition to Azure's message: what is there, and the closest name."""
    present = present_models(base)
    if not present:
        return (
            f" [emulator] No models are laid out under {os.path.abspath(base)}; deploy the model"
            " with the service, or set AML_APP_ROOT to the app root that holds azureml-models."
        )
    text = f" [emulator] Models present: {', '.join(present)}."
    names = sorted({entry.split("/", 1)[0] for entry in present})
    guess = closest_name(model_name, names)
    if guess and guess != model_name:
        text += f" Did you mean '{guess}'?"
    elif guess == model_name and version is not None:
        text += f" Version {version} of '{model_name}' is not among them."
    return text
