"""Opt-in sharing of identical deployments across the tests of one worker.

Starting a service costs about a second with the host builder and much more with a virtualenv
or Docker; a large suite that deploys the same script in many tests pays that once per worker
when it opts in (``@pytest.mark.aml_reuse`` or ``--aml-reuse``). Two deployments are identical
when the entry script (and source directory) content, the models' content, the environment's
hash, the target, the deployment configuration and the builder are. Shared services live in
their own root and workspace and are deleted when the session ends.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

from emulator.environments.hashing import environment_hash
from emulator.sdk.model import Model
from emulator.sdk.webservice import Webservice
from emulator.sdk.webservice.base import webservice_of
from emulator.sdk.workspace import Workspace
from emulator.settings import ROOT_ENV
from pytest_amlemu.deploy_factory import (
    Track,
    delete_service,
    service_name,
    start_deployment,
    wait_until_healthy,
)
from pytest_amlemu.deploy_request import DeployRequest
from pytest_amlemu.environ import scoped_environ
from pytest_amlemu.roots import Roots, create_workspace

_SERVING_STATES = ("Healthy", "running")


def deployment_key(request: DeployRequest, builder: str) -> str:
    """sha256 of everything that makes two deployments behave alike (see module docstring)."""
    digest = hashlib.sha256()

    def add(label: str, value: str | bytes) -> None:
        data = value.encode() if isinstance(value, str) else value
        digest.update(f"{label}:{len(data)}:".encode())
        digest.update(data)

    add("builder", builder)
    add("target", request.target)
    add("name", request.name or "")
    add("configuration", json.dumps(request.configuration, sort_keys=True, default=repr))
    add("environment", environment_hash(request.environment) if request.environment else "host")
    if request.source_directory is not None:
        add("entry", str(request.entry_script.relative_to(request.source_directory)))
        for path in sorted(p for p in request.source_directory.rglob("*") if p.is_file()):
            add(str(path.relative_to(request.source_directory)), path.read_bytes())
    else:
        add("entry", request.entry_script.name)
        add("script", request.entry_script.read_bytes())
    for model in request.models:
        add("model", _model_fingerprint(model))
    return digest.hexdigest()


def _model_fingerprint(model: Model | tuple[str, Path]) -> str:
    """Name and file digests, as the registry records them (so a path and the same file
    registered by a test fingerprint alike)."""
    if isinstance(model, Model):
        files = [(f.path, f.digest) for f in model.emulator_record.files]
        return f"{model.name}|{','.join(f'{p}={d}' for p, d in sorted(files))}"
    name, path = model
    paths = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    files = [
        (p.relative_to(path.parent).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
        for p in paths
    ]
    return f"{name}|{','.join(f'{p}={d}' for p, d in sorted(files))}"


class ReusePool:
    """Shared services of one worker, keyed by :func:`deployment_key`."""

    def __init__(self, roots: Roots) -> None:
        self._roots = roots
        self._root: Path | None = None
        self._workspace: Workspace | None = None
        self._shared: dict[str, Webservice] = {}
        self.services: list[Webservice] = []
        self._builders: list[str] = []

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = self._roots.new("shared-services")
        return self._root

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = create_workspace(self.root, "shared-workspace")
        return self._workspace

    def deploy(self, request: DeployRequest, builder: str, track: Track) -> Webservice:
        """The serving service for ``request``, deploying it on first use (or after it broke)."""
        key = deployment_key(request, builder)
        service = self._serving(self._shared.get(key))
        if service is not None:
            track(service)
            return service
        with scoped_environ({ROOT_ENV: str(self.root)}):  # replicas log into the shared root
            request = self._with_local_models(request, key)
            number = len(self.services) + 1
            name = request.name or service_name(request.entry_script, number, builder == "docker")
            service = start_deployment(self.workspace, request, builder, name)
            self.services.append(service)
            self._builders.append(builder)
            track(service)
            wait_until_healthy(service)
        self._shared[key] = service
        return service

    def _serving(self, service: Webservice | None) -> Webservice | None:
        """A fresh view of ``service`` if it still serves: a test may have deleted it, and a
        replica that died makes it ``Unhealthy`` or ``Failed`` (the record's state is brought
        up to date from the live replicas as it is read). One registry read: every reusing
        test pays for it, and ``Webservice(ws, name)`` reads the row twice."""
        if service is None:
            return None
        record = self.workspace.emulator_state.service_manager().get(service.name)
        if record is None or record.state.value not in _SERVING_STATES:
            return None
        return webservice_of(self.workspace, record)

    def _with_local_models(self, request: DeployRequest, key: str) -> DeployRequest:
        """Models registered in a test's workspace, downloaded so the shared one can register
        them (workspaces never share registries)."""
        models: list[Model | tuple[str, Path]] = []
        for model in request.models:
            if isinstance(model, Model) and model.workspace is not self.workspace:
                target = self.root / "models" / key[:12] / model.name
                models.append((model.name, Path(model.download(str(target), exist_ok=True))))
            else:
                models.append(model)
        return replace(request, models=tuple(models))

    def delete_all(self) -> None:
        for service, builder in zip(self.services, self._builders, strict=True):
            try:
                delete_service(service, builder)
            except Exception as exc:  # the session is ending: report, then go on
                print(f"azureml-emulator: could not delete shared service {service.name}: {exc}")
