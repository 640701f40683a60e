"""The v1 face's environment store: ``Environment.register/get/list/label`` on one workspace.

One record, two faces: a version lives in the workspace's asset registry
(:mod:`emulator.assets.versions`, kind ``environments``), the record the ARM face serves to
``azure-ai-ml``. It is written in SDK v2's vocabulary (``image``, ``condaFile``, ``osType``), so
``ml_client.environments.get(name, version)`` sees a v1 registration, and carries the SDK v1
definition whole (environment variables, docker settings, Dockerfile) under ``V1_KEY``, which
``azure-ai-ml`` ignores. A version the v2 face created has no v1 definition; it reads back as an
environment on its image (python from the conda file, else the image's own).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

from emulator.assets.private_wheels import PrivateWheels
from emulator.assets.versions import AssetVersion, AssetVersions
from emulator.environments.conda import CondaDependencies
from emulator.environments.curated import CURATED, RESERVED_PREFIX, curated, is_reserved
from emulator.environments.environment import Environment
from emulator.exceptions import Conflict
from emulator.images.builders.select import select_builder
from emulator.sdk.environment_build import (
    DockerImageDetails,
    ImageBuildDetails,
    build_here,
    image_details,
    start_environment_build,
)
from emulator.sdk.exceptions import UserErrorException
from emulator.state import WorkspaceState

logger = logging.getLogger("emulator.environment")

#: Where a version keeps the SDK v1 definition it was registered with.
V1_KEY = "azuremlV1Definition"
#: Where a version keeps its v1 labels (the one part of a version that may change).
LABELS_KEY = "azuremlV1Labels"


def _v1_definition(environment: Environment) -> dict[str, Any]:
    definition = environment._serialize_to_dict()
    definition.pop("name")
    definition.pop("version")
    return definition


def _spec(environment: Environment) -> dict[str, Any]:
    """The record of ``environment``: SDK v2's fields, the v1 definition beside them."""
    spec: dict[str, Any] = {"osType": "Linux", V1_KEY: _v1_definition(environment)}
    if environment.docker.base_image:
        spec["image"] = environment.docker.base_image
    if not environment.python.user_managed_dependencies:
        spec["condaFile"] = environment.python.conda_dependencies.serialize_to_string()
    return spec


def _environment(state: WorkspaceState, asset: AssetVersion) -> Environment:
    """The SDK object of a stored version, whichever face created it."""
    definition = asset.spec.get(V1_KEY)
    if isinstance(definition, dict):
        env = Environment._deserialize_and_add_to_object(
            {**definition, "name": asset.name, "version": asset.version}
        )
    else:
        env = _from_v2(asset)
    record = state.record
    env.asset_id = (  # the form of Azure's asset ids (azureml://locations/...)
        f"azureml://locations/{record.location}/workspaces/{record.subscription_id}."
        f"{record.resource_group}.{record.name}/environments/{asset.name}/versions/{asset.version}"
    )
    return env


def _from_v2(asset: AssetVersion) -> Environment:
    """A version created through the v2 face: an environment on its image and conda file."""
    env = Environment(asset.name)
    env.version = asset.version
    env.docker.base_image = asset.spec.get("image")
    conda = asset.spec.get("condaFile")
    if conda:
        loaded = yaml.safe_load(conda) if isinstance(conda, str) else conda
        env.python.conda_dependencies = CondaDependencies(_underlying_structure=loaded)
    else:
        env.python.user_managed_dependencies = True  # the image brings its own python
    return env


def _curated(name: str) -> Environment | None:
    entry = curated(name)
    return None if entry is None else Environment._deserialize_and_add_to_object(entry.definition())


class WorkspaceEnvironments:
    """The environment versions of one workspace, curated ones included (read-only)."""

    def __init__(self, state: WorkspaceState) -> None:
        self._state = state
        self._versions = AssetVersions(state.root, state.id, "environments")

    @property
    def state(self) -> WorkspaceState:
        """The workspace whose environments these are (its image registry builds them)."""
        return self._state

    def get(self, name: str, version: str | None, label: str | None) -> Environment:
        """The version asked for, the one carrying ``label``, or the latest."""
        found = _curated(name)
        if found is not None:
            if version not in (None, found.version) or label:
                raise UserErrorException(
                    f"Curated environment {name} has only version {found.version} here. "
                    f"Call Environment.get(ws, {name!r}) without version or label."
                )
            return found
        versions = self._versions.versions(name)
        if label:
            versions = [v for v in versions if label in (v.spec.get(LABELS_KEY) or [])]
        elif version is not None:
            versions = [v for v in versions if v.version == str(version)]
        if not versions:
            wanted = f" labelled {label!r}" if label else f" version {version}" if version else ""
            raise UserErrorException(
                f"Environment {name}{wanted} is not registered in workspace "
                f"{self._state.record.name}. Register it with env.register(ws) first; "
                "Environment.list(ws) shows what is registered."
            )
        return _environment(self._state, versions[0])

    def latest(self) -> dict[str, Environment]:
        """Name → latest version, registered ones first, then the curated ones."""
        newest: dict[str, Environment] = {}
        for asset in self._versions.versions():  # newest first
            if asset.name not in newest:
                newest[asset.name] = _environment(self._state, asset)
        for entry in CURATED:
            newest.setdefault(
                entry.name, Environment._deserialize_and_add_to_object(entry.definition())
            )
        return newest

    def register(self, environment: Environment) -> Environment:
        """Store ``environment``: unchanged → the latest version, changed → the next one."""
        if is_reserved(environment.name):
            raise UserErrorException(
                f"Environment name {environment.name!r} can not start with the prefix "
                f"{RESERVED_PREFIX}: it is reserved for curated environments. To change a "
                "curated environment, register a copy: env.clone('my-environment').register(ws)."
            )
        spec = _spec(environment)
        if environment.version is None:
            existing = self._versions.versions(environment.name)
            if existing and existing[0].spec.get(V1_KEY) == spec[V1_KEY]:
                return _environment(self._state, existing[0])
            version = self._versions.next_version(environment.name)
        else:
            version = str(environment.version)
            stored = self._versions.get(environment.name, version)
            if stored is not None and stored.spec.get(V1_KEY) == spec[V1_KEY]:
                return _environment(self._state, stored)
        try:
            asset = self._versions.put(environment.name, version, spec)
        except Conflict as exc:
            raise UserErrorException(exc.message) from None
        return _environment(self._state, asset)

    def label(self, name: str, version: str, labels: list[str]) -> None:
        """Put ``labels`` on ``name:version``, taking them off the name's other versions."""
        if curated(name) is not None:
            raise UserErrorException(
                f"Curated environment {name} is read-only: it can't be labelled."
            )
        target = self._versions.get(name, version)
        if target is None:
            raise UserErrorException(
                f"Environment {name} version {version} is not registered in workspace "
                f"{self._state.record.name}; register it before labelling it."
            )
        for asset in self._versions.versions(name):
            current = list(asset.spec.get(LABELS_KEY) or [])
            wanted = (
                sorted(set(current) | set(labels))
                if asset.version == version
                else [label for label in current if label not in labels]
            )
            if wanted != current:
                spec = {**asset.spec, LABELS_KEY: wanted}
                self._versions.put(name, asset.version, spec, mutable=(LABELS_KEY,))

    def build(self, environment: Environment, image_build_compute: str | None) -> ImageBuildDetails:
        """Register ``environment`` (an unchanged definition keeps its version) and start its
        image's build, or find the image its definition already has."""
        if environment.version is None:
            logger.warning(
                "Building a non-registered environment is not supported. Registering environment."
            )
        registered = self.register(environment)
        builder = select_builder(self._state.root)
        record = start_environment_build(self._state, registered, builder, image_build_compute)
        return ImageBuildDetails(self, record.image_id)

    def build_local(
        self, environment: Environment, platform: str | None, options: dict[str, Any]
    ) -> None:
        """Build the registered version's image on this machine now (the SDK builds what is
        registered under the name, not unsaved changes)."""
        build_here(self._state, self._registered(environment), platform, dict(options))

    def image_details(self, environment: Environment) -> DockerImageDetails:
        """Azure's image-details dict of the registered version."""
        return image_details(self._state, self._registered(environment))

    def _registered(self, environment: Environment) -> Environment:
        try:
            return self.get(environment.name, environment.version, None)
        except UserErrorException:
            raise UserErrorException(
                f"Environment '{environment.name}' is not registered. [emulator] Register it "
                "first: env = env.register(ws)."
            ) from None

    def add_private_wheel(self, path: Path, exist_ok: bool) -> str:
        """Store ``path`` among the workspace's private wheels; the URL naming it."""
        try:
            return PrivateWheels(self._state.root).add(self._state.record, path, exist_ok)
        except Conflict as exc:
            raise UserErrorException(exc.message) from None
