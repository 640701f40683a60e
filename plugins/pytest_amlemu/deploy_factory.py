"""``aml_deploy``: deploy a scoring script the way a user of the SDK would, wait until it is
healthy, and take it down after the test.

Deployments go through the SDK faces (``Model.register``, ``InferenceConfig``,
``Model.deploy``) so a test exercises what production code calls. A deployment that does not
come up raises :class:`DeploymentFailed` with the log tail, and is still deleted at teardown.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.environments import Environment
from emulator.errors import ComputeTargetException, WebserviceException
from emulator.sdk.compute import AksCompute, ComputeTarget
from emulator.sdk.inference_config import InferenceConfig
from emulator.sdk.model import Model
from emulator.sdk.webservice import AciWebservice, AksWebservice, LocalWebservice, Webservice
from emulator.sdk.workspace import Workspace
from emulator.settings import BUILDER_ENV
from pytest_amlemu.deploy_request import DeployRequest, PathLike, build_request
from pytest_amlemu.engine import remove_image
from pytest_amlemu.environ import scoped_environ
from pytest_amlemu.failures import (
    MESSAGE_LOG_LINES,
    DeploymentFailed,
    failure_phase,
    failure_reason,
    service_logs,
)
from pytest_amlemu.settings import TestSettings

if TYPE_CHECKING:
    from pytest_amlemu.reuse import ReusePool

#: The DEV_TEST cluster ``aml_deploy(target="aks")`` creates once per workspace.
CLUSTER_NAME = "amlemu-aks"
_CONFIGURATIONS: dict[str, type[Webservice]] = {
    "aci": AciWebservice,
    "aks": AksWebservice,
    "local": LocalWebservice,
}
_NAME_UNSAFE = re.compile(r"[^a-z0-9]+")
Track = Callable[[Webservice], None]


def start_deployment(
    workspace: Workspace, request: DeployRequest, builder: str, name: str
) -> Webservice:
    """Register the request's model files, then ``Model.deploy`` with ``builder``'s images."""
    models = [register_model(workspace, m) for m in request.models]
    entry, source = request.entry_script, request.source_directory
    inference_config = InferenceConfig(
        entry_script=str(entry.relative_to(source) if source else entry),
        source_directory=str(source) if source else None,
        environment=request.environment,
    )
    config = deployment_configuration(request.target, request.configuration)
    target = ensure_cluster(workspace) if request.target == "aks" else None
    with scoped_environ({BUILDER_ENV: builder}):  # the builder is chosen when deploying
        return Model.deploy(workspace, name, models, inference_config, config, target)


def wait_until_healthy(service: Webservice) -> None:
    """Return once ``service`` is healthy; else raise :class:`DeploymentFailed`."""
    __tracebackhide__ = True
    try:
        service.wait_for_deployment()
    except WebserviceException as exc:
        raise DeploymentFailed(
            failure_phase(service),
            service.name,
            failure_reason(service, exc.message),
            service_logs(service, MESSAGE_LOG_LINES),
        ) from None


def register_model(workspace: Workspace, model: Model | tuple[str, Path]) -> Model:
    """A registered model as is; a ``(name, path)`` registered from the path's folder (the SDK
    only uploads paths below the working directory)."""
    if isinstance(model, Model):
        return model
    name, path = model
    with _working_directory(path.parent):
        return Model.register(workspace, path.name, name)


def deployment_configuration(target: str, configuration: Mapping[str, Any]) -> Any:
    """``<Target>Webservice.deploy_configuration(**configuration)``."""
    webservice = _CONFIGURATIONS[target]
    try:
        return webservice.deploy_configuration(**configuration)  # type: ignore[attr-defined]
    except TypeError as exc:
        raise TypeError(
            f"aml_deploy(target={target!r}): {exc}. Extra keyword arguments go to "
            f"{webservice.__name__}.deploy_configuration(); use its parameter names."
        ) from None


def ensure_cluster(workspace: Workspace) -> ComputeTarget:
    """The workspace's :data:`CLUSTER_NAME` DEV_TEST cluster, created on first use."""
    try:
        return ComputeTarget(workspace, CLUSTER_NAME)
    except ComputeTargetException:
        pass
    config = AksCompute.provisioning_configuration(
        cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST
    )
    cluster = ComputeTarget.create(workspace, CLUSTER_NAME, config)
    cluster.wait_for_completion(show_output=False)
    return cluster


def service_name(entry_script: Path, number: int, unique: bool = False) -> str:
    """A valid service name (3-32 lowercase letters, digits, dashes) from the script's name.

    ``unique`` adds a random part: Docker image tags are named after the service and the
    engine is shared by every test and worker, while roots are not.
    """
    stem = _NAME_UNSAFE.sub("-", entry_script.stem.lower()).strip("-")[:18] or "service"
    if not stem[0].isalpha():
        stem = f"svc-{stem}"[:18]
    return f"{stem}-{uuid.uuid4().hex[:6]}-{number}" if unique else f"{stem}-{number}"


def delete_service(service: Webservice, builder: str) -> None:
    """Delete ``service`` (its replicas stop) and the image Docker built for it, if any."""
    image = service.image if builder == "docker" else None
    service.delete()
    if image is not None and image.image_location:
        remove_image(image.image_location)


@contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


class AmlDeploy:
    """The ``aml_deploy`` fixture: call it to deploy; every service it made is deleted after
    the test (see the plugin's docstring for the arguments)."""

    def __init__(
        self,
        workspace: Callable[[], Workspace],
        settings: TestSettings,
        test_directory: Path,
        track: Track,
        shared: Callable[[], ReusePool] | None = None,
    ) -> None:
        self._workspace = workspace
        self.settings = settings
        self.services: list[Webservice] = []
        self._builders: list[str] = []
        self._test_directory = test_directory
        self._track = track
        self._shared = shared

    @property
    def workspace(self) -> Workspace:
        """The test's workspace (made on first use when the test reuses services)."""
        return self._workspace()

    def __call__(
        self,
        entry_script: PathLike,
        models: Sequence[Any] | Mapping[str, PathLike] = (),
        environment: Environment | PathLike | Sequence[str] | None = None,
        target: str | None = None,
        source_directory: PathLike | None = None,
        *,
        name: str | None = None,
        **deploy_configuration: Any,
    ) -> Webservice:
        __tracebackhide__ = True
        request = build_request(
            entry_script,
            models,
            environment,
            target or self.settings.target,
            source_directory,
            deploy_configuration,
            search=(Path.cwd(), self._test_directory),
            name=name,
        )
        builder = self.settings.builder(request.environment is not None)
        if self._shared is not None:
            return self._shared().deploy(request, builder, self._track)
        number = len(self.services) + 1
        chosen = name or service_name(request.entry_script, number, builder == "docker")
        service = start_deployment(self.workspace, request, builder, chosen)
        self.services.append(service)
        self._builders.append(builder)
        self._track(service)
        wait_until_healthy(service)
        return service

    def delete_all(self) -> None:
        """Delete every service this factory made (their processes and containers stop)."""
        failures = []
        for service, builder in zip(self.services, self._builders, strict=True):
            try:
                delete_service(service, builder)
            except Exception as exc:  # delete the others all the same
                failures.append(f"{service.name}: {type(exc).__name__}: {exc}")
        if failures:
            raise RuntimeError("aml_deploy could not delete: " + "; ".join(failures))
