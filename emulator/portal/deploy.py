"""The deploy form's submission: the same SDK calls a notebook would make.

A registered image goes through ``Webservice.deploy_from_image``; models with an entry script
(and optionally a conda file) go through ``Model.deploy``. Both return at once with the
service ``Transitioning``, so the portal can redirect to its page and show the progress. The
service then lives in the portal's process, which therefore has its metrics.
"""

from __future__ import annotations

from typing import Any

from emulator.environments.environment import Environment
from emulator.errors import AzureMLException
from emulator.sdk.compute import ComputeTarget
from emulator.sdk.image import Image
from emulator.sdk.inference_config import InferenceConfig
from emulator.sdk.model import Model
from emulator.sdk.webservice import AciWebservice, AksWebservice, Webservice
from emulator.sdk.workspace import Workspace


class FormError(Exception):
    """Errors keyed by form field (``"form"`` for the SDK's own errors)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def submit(ws: Workspace, form: dict[str, str], models: list[str]) -> Webservice:
    """Deploy what the form describes; raises :class:`FormError` naming the bad fields."""
    errors: dict[str, str] = {}
    name = form.get("name", "").strip()
    if not name:
        errors["name"] = "Give the service a name (e.g. my-service)."
    cpu = _number(form, "cpu_cores", errors)
    memory = _number(form, "memory_gb", errors)
    replicas = _number(form, "replicas", errors)
    source = form.get("source", "image")
    if source == "image" and not form.get("image"):
        errors["image"] = "Pick a registered image, or choose 'Models + entry script'."
    if source == "model" and not models:
        errors["models"] = "Pick at least one registered model."
    if source == "model" and not form.get("entry_script", "").strip():
        errors["entry_script"] = "Give the path of the scoring script (e.g. score.py)."
    if errors:
        raise FormError(errors)
    target_name = form.get("target", "aci")
    auth = form.get("auth") == "on"
    try:
        target: Any = None
        config: Any
        if target_name == "aci":
            config = AciWebservice.deploy_configuration(
                cpu_cores=cpu, memory_gb=memory, auth_enabled=auth
            )
        else:
            target = ComputeTarget(ws, target_name)
            config = AksWebservice.deploy_configuration(
                cpu_cores=cpu,
                memory_gb=memory,
                num_replicas=int(replicas) if replicas is not None else None,
                auth_enabled=auth,
            )
        if source == "image":
            image = Image(ws, id=form["image"])
            return Webservice.deploy_from_image(ws, name, image, config, target)
        inference = _inference_config(form)
        picked = [Model(ws, id=model_id) for model_id in models]
        return Model.deploy(ws, name, picked, inference, config, target)
    except (AzureMLException, FileNotFoundError, ValueError, TypeError) as exc:
        raise FormError({"form": str(exc)}) from exc


def _inference_config(form: dict[str, str]) -> InferenceConfig:
    conda = form.get("conda_file", "").strip()
    source_dir = form.get("source_directory", "").strip() or None
    entry = form["entry_script"].strip()
    if conda:
        env = Environment.from_conda_specification("portal-env", conda)
        return InferenceConfig(entry, source_directory=source_dir, environment=env)
    return InferenceConfig(entry, runtime="python", source_directory=source_dir)


def _number(form: dict[str, str], field: str, errors: dict[str, str]) -> float | None:
    text = form.get(field, "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        errors[field] = f"'{text}' is not a number (e.g. 0.5)."
        return None
