"""The build context: everything an image is made of, laid out as Azure ML lays out an image.

::

    <context>/Dockerfile                   generated (see dockerfile.py)
    <context>/environment/conda.yml        the environment's conda spec, as given
    <context>/environment/requirements.txt that spec mapped to PyPI (see requirements.py)
    <context>/environment/wheels/          the workspace's private wheels it lists (see
                                           private_wheels.py)
    <context>/environment/emulator-requirements.txt  the emulator's own dependencies (less
                                           what the user pinned of inference-schema)
    <context>/python/                      the emulator and the azureml.* modules
    <context>/azureml-app/                 → /var/azureml-app: entry script, source directory,
                                           azureml-models/<name>/<version>/...
    <context>/build.json                   what was requested, for the record

Both builders consume this one directory.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from emulator.environments.environment import Environment, environment_definition
from emulator.environments.hashing import environment_hash
from emulator.environments.provided import defer_to_user_pins, provided, provision_note
from emulator.environments.requirements import ResolvedRequirements, resolve_requirements
from emulator.images.buildlog import BuildFailed, BuildLog
from emulator.images.compat import runtime_requirements, write_python_tree
from emulator.images.dockerfile import APP_ROOT, render_dockerfile, resolve_base_image
from emulator.images.private_wheels import fetch_private_wheels
from emulator.models.layout import lay_out_models, model_dir_for
from emulator.models.records import ModelRecord
from emulator.store.blobs import BlobStore


@dataclass(frozen=True)
class ImageRequest:
    """What to build: validated inputs from ``ContainerImageConfig`` or ``InferenceConfig``."""

    entry_script: Path
    environment: Environment
    models: tuple[ModelRecord, ...] = ()
    source_directory: Path | None = None
    dependencies: tuple[Path, ...] = ()
    extra_docker_steps: str | None = None
    base_image: str | None = None
    enable_gpu: bool = False


@dataclass(frozen=True)
class BuildContext:
    """A written build context and the facts the builders need about it."""

    root: Path
    request: ImageRequest
    resolved: ResolvedRequirements
    env_vars: dict[str, str]
    base_image: str
    environment_key: str
    entry_script: str
    notes: list[str] = field(default_factory=list)

    @property
    def dockerfile(self) -> Path:
        return self.root / "Dockerfile"

    @property
    def app_dir(self) -> Path:
        return self.root / "azureml-app"

    @property
    def python_dir(self) -> Path:
        return self.root / "python"

    @property
    def requirements_file(self) -> Path:
        return self.root / "environment" / "requirements.txt"

    @property
    def runtime_requirements_file(self) -> Path:
        """The emulator's own dependencies (server, YAML, ...), installed after the user's."""
        return self.root / "environment" / "emulator-requirements.txt"

    def runtime_requirements(self) -> list[str]:
        return self.runtime_requirements_file.read_text(encoding="utf-8").split()


def write_context(request: ImageRequest, dest: Path, blobs: BlobStore) -> BuildContext:
    """Write the context for ``request`` into the empty or missing directory ``dest``."""
    app_dir = dest / "azureml-app"
    app_dir.mkdir(parents=True, exist_ok=True)
    entry = _copy_app_files(request, app_dir)
    lay_out_models(app_dir, request.models, blobs)
    model_dir = model_dir_for(Path(APP_ROOT), request.models)

    env = request.environment
    resolved = resolve_requirements(env)
    (dest / "environment").mkdir(exist_ok=True)
    (dest / "environment" / "conda.yml").write_text(
        env.python.conda_dependencies.serialize_to_string()
    )
    private = fetch_private_wheels(resolved, dest / "environment", blobs)
    (dest / "environment" / "requirements.txt").write_text(
        resolved.requirements_txt() + "".join(f"{line}\n" for line in private)
    )
    (dest / "environment" / "emulator-requirements.txt").write_text(
        "".join(f"{line}\n" for line in defer_to_user_pins(runtime_requirements(), resolved.pip))
    )
    write_python_tree(dest / "python")

    env_vars = {
        **{k: v for k, v in env.environment_variables.items()},
        "AML_APP_ROOT": APP_ROOT,
        "AZUREML_ENTRY_SCRIPT": entry,
        "AZUREML_MODEL_DIR": model_dir.as_posix(),
    }
    if request.source_directory is not None:
        env_vars["AZUREML_SOURCE_DIRECTORY"] = request.source_directory.name
    requested_base = request.base_image or env.docker.base_image
    base_image = resolve_base_image(requested_base)
    notes = [f"Private package {line[2:]}; installed from the build context" for line in private]
    if base_image != requested_base:
        notes.append(f"Base image {requested_base} is not available offline; using {base_image}.")
    (dest / "Dockerfile").write_text(
        render_dockerfile(base_image, env_vars, request.extra_docker_steps, wheels=bool(private))
    )
    (dest / "build.json").write_text(
        json.dumps(
            {
                "entryScript": entry,
                "models": [m.model_id for m in request.models],
                "environment": environment_definition(env),
                "baseImage": base_image,
                "environmentVariables": env_vars,
            },
            indent=2,
        )
    )
    return BuildContext(
        root=dest,
        request=request,
        resolved=resolved,
        env_vars=env_vars,
        base_image=base_image,
        environment_key=environment_hash(env),
        entry_script=entry,
        notes=notes,
    )


def _copy_app_files(request: ImageRequest, app_dir: Path) -> str:
    """Copy the entry script (and source directory, dependencies); returns AZUREML_ENTRY_SCRIPT."""
    if request.source_directory is not None:
        source = request.source_directory
        shutil.copytree(
            source,
            app_dir / source.name,
            ignore=shutil.ignore_patterns("__pycache__", ".git", "azureml-models"),
            dirs_exist_ok=True,
        )
        return f"{source.name}/{request.entry_script.relative_to(source).as_posix()}"
    shutil.copy2(request.entry_script, app_dir / request.entry_script.name)
    for dependency in request.dependencies:
        target = app_dir / dependency.name
        if dependency.is_dir():
            shutil.copytree(dependency, target, dirs_exist_ok=True)
        else:
            shutil.copy2(dependency, target)
    return request.entry_script.name


def check_requirements(context: BuildContext, log: BuildLog) -> None:
    """Refuse what cannot be installed before any slow step starts (every builder calls it)."""
    resolved = context.resolved
    if resolved.unavailable:
        listed = "\n".join(f"  - {spec} {reason}" for spec, reason in resolved.unavailable)
        raise BuildFailed(
            "Resolve requirements",
            "These packages cannot be installed outside Azure ML; remove them from the "
            f"environment's conda/pip spec:\n{listed}",
        )
    if resolved.provided_by_emulator:
        listed = ", ".join(resolved.provided_by_emulator)
        log.write(f"Provided by the emulator (not installed): {listed}")
    # Every line naming a provided distribution, pins included, says what the image gets.
    for line in [*resolved.provided_by_emulator, *filter(provided, resolved.pip)]:
        log.write(f"  {provision_note(line)}")
    log.write(f"Requirements: {', '.join(resolved.pip) or 'none'}")
