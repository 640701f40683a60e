"""Bring your own container: an online deployment whose environment is a custom image with an
``inference_config`` (``liveness_route``, ``readiness_route``, ``scoring_route``: a port and a
path each), run on the Docker backend as configured.

azure-ai-ml sends the routes in the environment version's ``inferenceConfig``
(``{"livenessRoute": {"port": 8080, "path": "/health"}, ...}``, measured by serializing
``Environment(image=..., inference_config=...)._to_rest_object()``). Azure then runs the image
itself, with no inference server of Azure's: the endpoint's ``/score`` goes to the scoring
route, the kubelet probes the liveness route (failures restart the container) and the readiness
route (failures take it out of traffic), a ``model`` is mounted under
``/var/azureml-app/azureml-models/<name>/<version>`` (``AZUREML_MODEL_DIR``) and a
``code_configuration``'s folder under ``/var/azureml-app/<folder>`` (``AML_APP_ROOT``, with
``AZUREML_ENTRY_SCRIPT``: the layout azure-ai-ml's own local endpoints reproduce in
``_local_endpoints/azureml_image_context.py``), for images that serve the script themselves. The
emulator does the same with read-only bind mounts, the deployment's ``environment_variables``
passed through as given (after Azure's, as the local endpoints merge them).

What the machine forces (see the README): there is no registry, so the image must already be in
the local engine (else the error says how to build or load it); the containers share the host's
network (Docker's bridge is off), so the image listens on its configured ports on the host and
one replica per port can run here: ``instance_count`` above 1 is refused with the reason.

An update is rolled out as Azure rolls it (the old instance keeps the traffic until the new one
is ready; when the new one does not become ready the deployment fails and the old one keeps
serving) as far as the host's ports allow. The ports are the image's own (``inference_config``,
chosen by the user: Azure tells the container no port, and the emulator cannot know which
variable, if any, the image reads its port from), so: an update whose container listens on
other ports than the running one starts beside it (:meth:`Deployment.replace`, the same
rolling update as any online deployment's); one on the same ports must stop the running
container first, and when the new one fails the previous one is started again from its own
files (each version's model and code lie in a folder of their own, :func:`version_folder`),
with the gap and the way around it (another port) in the error.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

from emulator.assets.versions import AssetVersions, Kind
from emulator.endpoints.deployments import DeploymentRecord
from emulator.endpoints.instances import InstancePlan
from emulator.exceptions import BadArgument, OperationFailed
from emulator.models.layout import MODELS_DIRNAME, lay_out_models, model_dir_for
from emulator.models.records import ModelRecord
from emulator.runtime.backends.docker import connect
from emulator.runtime.probes import HttpRoute, ImageRoutes, ProbeSettings, http_probe
from emulator.services.deployment import Deployment, ReplicaTemplate
from emulator.services.online import online, start_online, stop_online
from emulator.services.records import ServiceState
from emulator.services.settings import ServiceSettings
from emulator.store.root import EmulatorRoot

#: Where Azure puts the application in an inference container (models under azureml-models/).
APP_ROOT = PurePosixPath("/var/azureml-app")
#: The environment variable naming the deployed model's folder in the container.
MODEL_DIR_ENV = "AZUREML_MODEL_DIR"
#: The folder of the scoring script in the container, and the script's name (a deployment
#: with ``code_configuration``: the code is mounted at ``/var/azureml-app/<code folder>``).
APP_ROOT_ENV = "AML_APP_ROOT"
ENTRY_SCRIPT_ENV = "AZUREML_ENTRY_SCRIPT"
#: Lines of the container's log quoted in a failed deployment's error.
TAIL_LINES = 50
_ASSET_ID = re.compile(
    r".*/(?P<kind>environments|codes)/(?P<name>[^/]+)/versions/(?P<version>[^/]+)"
)
_ROUTES = (
    ("scoringRoute", "scoring_route"),
    ("livenessRoute", "liveness_route"),
    ("readinessRoute", "readiness_route"),
)


@dataclass(frozen=True)
class CustomContainer:
    """What a deployment's environment says to run: the image and its routes."""

    environment: str
    image: str
    routes: ImageRoutes


def custom_container(
    root: EmulatorRoot, workspace_id: int, properties: Mapping[str, Any]
) -> CustomContainer | None:
    """The custom container a deployment's environment names (``None``: no environment, or
    one without ``inferenceConfig``: an image the emulator builds; provisioning reports an
    environment that does not exist); :class:`BadArgument` naming what Azure would refuse."""
    environment_id = str(properties.get("environmentId") or "")
    spec = _asset_spec(root, workspace_id, environment_id, "environments")
    config = spec.get("inferenceConfig")
    if not config:
        return None
    name = environment_id.rsplit("/environments/", 1)[-1].replace("/versions/", ":")
    if not isinstance(config, Mapping):
        raise _refused(f"inference_config of environment '{name}' must be an object.")
    image = str(spec.get("image") or "")
    if not image:
        raise _refused(
            f"Environment '{name}' has an inference_config but no image. [emulator] Build the "
            "image into the local Docker engine (docker build -t <name:tag> <folder>) and name "
            "it in Environment(image=...)."
        )
    if spec.get("condaFile"):
        raise _refused(
            f"Environment '{name}' has an inference_config and a conda_file. [emulator] The "
            "emulator runs a custom image as it is: install the packages in its Dockerfile "
            "and leave conda_file out."
        )
    scoring, liveness, readiness = (_route(config, wire, field, name) for wire, field in _ROUTES)
    return CustomContainer(name, image, ImageRoutes(scoring, liveness, readiness))


class Workspace(Protocol):
    """What running a custom container reads of its workspace (provisioning's workspace)."""

    @property
    def root(self) -> EmulatorRoot: ...

    @property
    def id(self) -> int: ...


def version_folder(directory: Path, record: DeploymentRecord) -> Path:
    """A new folder under the workspace's ``directory`` for the model and code one version of
    ``record`` mounts. Each version has its own: the running version's files stay as they are
    while an update starts, so it can serve on (or be started again) when the update fails."""
    deployment = directory / "online-containers" / record.endpoint.lower() / record.name.lower()
    folder = deployment / uuid.uuid4().hex[:12]
    folder.mkdir(parents=True)
    return folder


def provision(
    workspace: Workspace,
    record: DeploymentRecord,
    instances: InstancePlan,
    container: CustomContainer,
    model: ModelRecord | None,
    code: Path | None,
    limits: tuple[float | None, float | None],
    work: Path,
) -> Deployment:
    """Run ``container`` for ``record`` (``model`` and the ``code`` folder mounted as Azure
    mounts them, from ``work``: a :func:`version_folder`) and return once its readiness route
    answers; raises :class:`OperationFailed` with the reason (no engine, no image, a busy port,
    a crash, a readiness route that keeps failing). A failed creation leaves nothing running;
    a failed update leaves the previous version serving (see the module docstring)."""
    root, workspace_id = workspace.root.path, workspace.id
    _check_instances(record, instances, container)
    if record.properties.get("modelMountPath"):
        raise _refused(
            "model_mount_path is not emulated. [emulator] Leave it out and read the model "
            f"where {MODEL_DIR_ENV} points (/var/azureml-app/azureml-models/<name>/<version>)."
        )
    _check_image(container)
    environment: dict[str, str] = {}
    mounts: dict[str, str] = {}
    if model is not None:
        app = work / "app"
        lay_out_models(app, (model,), workspace.root.blobs)
        mounts[str(app / MODELS_DIRNAME)] = str(APP_ROOT / MODELS_DIRNAME)
        environment[MODEL_DIR_ENV] = model_dir_for(Path(APP_ROOT), (model,)).as_posix()
    if code is not None:
        configuration = record.properties.get("codeConfiguration") or {}
        folder = APP_ROOT / _code_folder(workspace, str(configuration.get("codeId") or ""))
        script = PurePosixPath(str(configuration.get("scoringScript") or "score.py"))
        mounts[str(code)] = str(folder)
        environment[APP_ROOT_ENV] = str(folder / script.parent)
        environment[ENTRY_SCRIPT_ENV] = script.name
    template = ReplicaTemplate(
        image_location=container.image,
        image_name=container.image,
        backend="docker",
        environment={**environment, **instances.environment},
        cpu_cores=limits[0],
        memory_gb=limits[1],
        liveness=instances.liveness,
        readiness=instances.readiness,
        routes=container.routes,
        mounts=mounts,
    )
    live = online(root, workspace_id, record.endpoint, record.name)
    _prune(work, live)
    if live is None:
        served, failure = _run(root, workspace_id, record, template)
        if served is None:
            shutil.rmtree(work, ignore_errors=True)
            raise _not_ready(container, failure)
        return served
    if _ports(live).isdisjoint(container.routes.ports):
        return _roll(live, template, container, work)
    return _swap(root, workspace_id, record, live, template, container, work)


def _roll(
    live: Deployment, template: ReplicaTemplate, container: CustomContainer, work: Path
) -> Deployment:
    """Azure's rolling update (the new container listens on other ports than the running one):
    the new one starts beside it and takes the traffic once ready; else the old one serves on."""
    kept = (
        "\n[emulator] The update's new instance did not become ready; the previous version "
        "keeps serving."
    )
    try:
        error = live.replace(template, ServiceSettings.aci(), live.auth, 1, _startup(template))
    except OperationFailed as exc:  # it could not be started at all (a port in use)
        shutil.rmtree(work, ignore_errors=True)
        raise OperationFailed(f"{exc.message}{kept}", code=exc.code, status=exc.status) from exc
    if error is None:
        return live  # the old version's folder goes at the next update (it drains meanwhile)
    shutil.rmtree(work, ignore_errors=True)
    raise _not_ready(container, f"\n{error.get('message', error)}{kept}")


def _swap(
    root: Path,
    workspace_id: int,
    record: DeploymentRecord,
    live: Deployment,
    template: ReplicaTemplate,
    container: CustomContainer,
    work: Path,
) -> Deployment:
    """An update on the ports the running container listens on: host networking lets one
    listener have a port, so the running container stops first; when the new one does not
    become ready, the previous one (its template and its own files) is started again."""
    previous, stopped = live.template, time.monotonic()
    stop_online(root, workspace_id, record.endpoint, record.name)
    try:
        served, failure = _run(root, workspace_id, record, template)
    except OperationFailed as exc:  # it could not be started at all
        served, failure = None, f"\n{exc.message}"
    if served is not None:
        _prune(work, served)
        return served
    shutil.rmtree(work, ignore_errors=True)
    try:
        restored, again = _run(root, workspace_id, record, previous)
    except OperationFailed as exc:  # it could not be started again (its image gone, its port)
        restored, again = None, f"\n{exc.message}"
    ports = ", ".join(str(port) for port in container.routes.ports)
    if restored is None:
        raise _not_ready(
            container,
            f"{failure}\n[emulator] The previous version, stopped to free host port {ports} for "
            f"the update's container, did not become ready again either:{again}\nNothing "
            "serves this deployment now: fix the cause and deploy again.",
        )
    gap = time.monotonic() - stopped
    raise _not_ready(
        container,
        f"{failure}\n[emulator] The previous version serves again. Unlike Azure, it did not "
        f"serve for {gap:.1f} s while the update's container tried: both listen on host port "
        f"{ports}, and containers here share the host's network (one listener per port). "
        "Give the update another port in its environment's inference_config (and in the "
        "variable the image reads its port from) to have it start beside the running version "
        "and take the traffic only once ready, as Azure does.",
    )


def _run(
    root: Path, workspace_id: int, record: DeploymentRecord, template: ReplicaTemplate
) -> tuple[Deployment | None, str]:
    """Start ``template`` as the deployment's only replica and wait for its readiness: the
    live deployment, or ``None`` (nothing left running) and why, with the log's tail."""
    live = start_online(root, workspace_id, record.endpoint, record.name, template, 1)
    status, error = live.wait(_startup(template))
    if status is ServiceState.HEALTHY:
        return live, ""
    tail = live.logs(TAIL_LINES)
    if status is ServiceState.FAILED:  # it crashed, or liveness killed it: the container says
        why = f"\n{(error or {}).get('message', '')}"
    else:
        why = _probe_report(template)
    stop_online(root, workspace_id, record.endpoint, record.name)
    return None, f"{why}\nContainer logs (last {TAIL_LINES} lines):\n{tail}"


def _ports(live: Deployment) -> set[int]:
    """The host ports the running replicas listen on."""
    ports: set[int] = set()
    for replica in live.containers():
        routes = replica.config.routes
        ports.update(routes.ports if routes is not None else (replica.port,))
    return ports


def _prune(work: Path, keep: Deployment | None) -> None:
    """Remove the deployment's version folders but ``work`` and the one ``keep`` mounts
    (those of failed updates, of versions no container runs any more)."""
    mounted = [Path(host) for host in keep.template.mounts] if keep is not None else []
    for folder in work.parent.iterdir():
        if folder != work and not any(path.is_relative_to(folder) for path in mounted):
            shutil.rmtree(folder, ignore_errors=True)


def _not_ready(container: CustomContainer, detail: str) -> OperationFailed:
    return OperationFailed(
        f"ResourceNotReady: the container of image {container.image} did not become ready.{detail}",
        code="ResourceNotReady",
        status=400,
    )


def _asset_spec(root: EmulatorRoot, workspace_id: int, arm_id: str, kind: Kind) -> dict[str, Any]:
    """The specification of the asset version ``arm_id`` names (empty when there is none:
    provisioning reports a missing asset itself)."""
    found = _ASSET_ID.fullmatch(arm_id)
    if found is None or found["kind"] != kind:
        return {}
    asset = AssetVersions(root, workspace_id, kind).get(found["name"], found["version"])
    return {} if asset is None else dict(asset.spec)


def _code_folder(workspace: Workspace, code_id: str) -> str:
    """The name of the folder the code was uploaded from (the last part of its ``codeUri``):
    Azure mounts it under ``/var/azureml-app`` by that name, as azure-ai-ml's local endpoints
    do (``AzureMlImageContext``). ``code`` when there is none, or when it would name no folder
    of its own (``.``, ``..``: a hand-written codeUri; azure-ai-ml uploads ``<hash>/<name>``)."""
    spec = _asset_spec(workspace.root, workspace.id, code_id, "codes")
    uri = unquote(urlparse(str(spec.get("codeUri") or "")).path).rstrip("/")
    name = uri.rsplit("/", 1)[-1]
    return "code" if name in ("", ".", "..") else name


def _route(config: Mapping[str, Any], wire: str, field: str, environment: str) -> HttpRoute:
    route = config.get(wire)
    if not isinstance(route, Mapping):
        raise _refused(
            f"inference_config.{field} of environment '{environment}' is missing: Azure needs "
            "liveness_route, readiness_route and scoring_route, each with a port and a path."
        )
    port, path = route.get("port"), route.get("path")
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise _refused(
            f"inference_config.{field}.port of environment '{environment}' must be a port "
            f"number (1-65535), not {port!r}."
        )
    if not isinstance(path, str) or not path.startswith("/"):
        raise _refused(
            f"inference_config.{field}.path of environment '{environment}' must be a path "
            f"starting with '/', not {path!r}."
        )
    return HttpRoute(port, path)


def _check_instances(
    record: DeploymentRecord, instances: InstancePlan, container: CustomContainer
) -> None:
    """One replica per port here (host networking): more is refused, saying why."""
    most = instances.autoscale.max_instances if instances.autoscale else instances.count
    if most <= 1:
        return
    ports = ", ".join(str(port) for port in container.routes.ports)
    raise OperationFailed(
        f"Deployment '{record.name}' asks for {most} instances of custom container "
        f"{container.image}, which listens on port {ports}. [emulator] Replicas here share the "
        "host's network (Docker's bridge is off), so only one can listen on a port: use "
        "instance_count=1 (and no scale settings above it) on this machine."
    )


def _check_image(container: CustomContainer) -> None:
    """The image must be in the local engine (no registry here); the engine must answer."""
    client = connect(purpose=f"run custom container image {container.image}")
    try:
        import docker.errors

        try:
            client.inspect_image(container.image)
        except docker.errors.ImageNotFound as exc:
            raise OperationFailed(
                f"Image {container.image} of environment '{container.environment}' is not in "
                "the local Docker engine, and there is no registry here to pull it from. "
                f"[emulator] Build it there (docker build -t {container.image} <folder with "
                "its Dockerfile>) or load a saved copy (docker save -o image.tar "
                f"{container.image} where it exists, then docker load -i image.tar), and create "
                "the deployment again."
            ) from exc
        except docker.errors.APIError as exc:
            raise OperationFailed(
                f"Image {container.image} of environment '{container.environment}' cannot be "
                f"run: {getattr(exc, 'explanation', None) or exc}"
            ) from exc
    finally:
        with contextlib.suppress(Exception):
            client.close()


def _window(probe: ProbeSettings) -> float:
    """Azure's start-up allowance of a probe, in its (unscaled) seconds: the initial delay,
    then ``failure_threshold`` periods."""
    return probe.initial_delay_seconds + probe.period_seconds * probe.failure_threshold


def _startup(template: ReplicaTemplate) -> float:
    """How long a replica of ``template`` may take to become ready: the longer probe's
    start-up allowance."""
    return max(_window(template.liveness), _window(template.readiness or template.liveness))


def _probe_report(template: ReplicaTemplate) -> str:
    """The probes' answers now, in the kubelet's words (what Azure's events show)."""
    routes, readiness = template.routes, template.readiness or template.liveness
    if routes is None:  # not a custom container's (a previous version built by the emulator)
        return ""
    lines = []
    for kind, route, settings in (
        ("Readiness", routes.readiness, readiness),
        ("Liveness", routes.liveness, template.liveness),
    ):
        result = http_probe(route.port, settings.timeout_seconds, route.path)
        if result.ok:
            continue
        url = f"http://127.0.0.1:{route.port}{route.path}"
        if result.detail.startswith("HTTP "):
            detail = f"HTTP probe failed with statuscode: {result.detail[5:]}"
        else:
            detail = f'Get "{url}": {result.detail}'
        lines.append(f"\n{kind} probe failed: {detail}")
    return "".join(lines) + (
        f"\n[emulator] Azure keeps waiting for the readiness route until the deployment times "
        f"out; the emulator stops after the probes' start-up allowance ({_startup(template):g} "
        "s: initial_delay + period x failure_threshold of readiness_probe / liveness_probe)."
    )


def _refused(message: str) -> BadArgument:
    return BadArgument(message, code="UserError")
