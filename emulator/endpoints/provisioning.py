"""Provisioning an online deployment: from its stored record to replicas that answer.

What the client uploaded (the model version, the code version's blobs, the environment
version) becomes an image built by the emulator's builder, as SDK v1's ``Model.deploy`` does;
the image's replicas start behind a gateway of their own (:mod:`emulator.services.online`) and
the deployment is ready once ``init()`` returned in them. The ARM face runs this in the
background of a create (:func:`start`); the daemon runs it again for the deployments it brings
back after a restart (:func:`apply`). The record ends ``Succeeded``, or ``Failed`` with Azure's
``ResourceNotReady`` error and the log's tail.

This module knows deployments, not HTTP: it raises :class:`~emulator.exceptions.EmulatorError`
subclasses, which every face renders in its own words.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

from emulator._version import __version__
from emulator.assets.blob_containers import BlobContainers
from emulator.assets.versions import AssetVersions
from emulator.endpoints import byoc, mlflow, triton
from emulator.endpoints.deployments import DeploymentRecord, OnlineDeployments
from emulator.endpoints.instances import InstancePlan, check_quota, plan
from emulator.endpoints.kubernetes import replica_limits
from emulator.environments.environment import Environment
from emulator.exceptions import BadArgument, EmulatorError, NotFound, OperationFailed
from emulator.images.build import log_path, start_build, wait_for_build
from emulator.images.builders.select import select_builder
from emulator.images.context import ImageRequest
from emulator.images.naming import validate_image_name
from emulator.images.records import CreationState, ImageRecord
from emulator.images.registry import ImageRegistry
from emulator.models.records import ModelRecord
from emulator.models.registry import ModelRegistry
from emulator.services.deployment import Deployment
from emulator.services.online import online, replica_template, start_online, stop_online
from emulator.services.records import ServiceState
from emulator.services.settings import ServiceSettings
from emulator.settings import builder_name
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceRecord

#: Seconds ``init()`` may take before the deployment fails (Azure's default startup allowance).
INIT_TIMEOUT = 600.0
#: Lines of a log quoted in a failed deployment's error.
TAIL_LINES = 50
#: The image property holding what the image was built from (see :func:`_inputs_key`).
INPUTS_PROPERTY = "amlemu.onlineDeploymentInputs"
#: Azure's error text for a deployment whose container did not start (the operation's error).
NOT_READY = (
    "ResourceNotReady: User container has crashed or terminated. Please see troubleshooting "
    "guide, available here: https://aka.ms/oe-tsg#error-resourcenotready"
)
_ASSET_ID = re.compile(
    r".*/(?P<kind>models|codes|environments)/(?P<name>[^/]+)/versions/(?P<v>[^/]+)"
)


class WorkspaceAssets(Protocol):
    """What provisioning reads of a workspace (``emulator.state.WorkspaceState`` has it; the
    state layer sits above this one, so it is named by its shape)."""

    @property
    def root(self) -> EmulatorRoot: ...

    @property
    def record(self) -> WorkspaceRecord: ...

    @property
    def id(self) -> int: ...

    @property
    def directory(self) -> Path: ...

    @property
    def models(self) -> ModelRegistry: ...

    @property
    def images(self) -> ImageRegistry: ...


def validate(
    workspace: WorkspaceAssets,
    endpoint: str,
    name: str,
    properties: dict[str, Any],
    sku: dict[str, Any],
) -> InstancePlan:
    """What Azure refuses before it stores a deployment (an unknown instance type, a bad
    instance count, scale settings or probe timing): :class:`~emulator.exceptions.BadArgument`
    naming the field."""
    draft = DeploymentRecord(endpoint, name, properties, {}, sku, "Creating", None, "", "")
    instances = plan(draft, workspace.record)
    if byoc.custom_container(workspace.root, workspace.id, properties) is None:
        model = mlflow.model_of(workspace.models, str(properties.get("model") or ""))
        mlflow.check_code_and_environment(properties, model)  # script needs environment, ...
    return instances


def start(
    workspace: WorkspaceAssets,
    record: DeploymentRecord,
    on_end: Callable[[], object] | None = None,
) -> threading.Thread:
    """:func:`apply` in a background thread (the ARM face answers the PUT meanwhile), then
    ``on_end()`` (the operation's lock released, :mod:`emulator.endpoints.operations`)."""

    def run() -> None:
        try:
            apply(workspace, record)
        finally:
            if on_end is not None:
                on_end()

    thread = threading.Thread(
        target=run,
        name=f"amlemu-online-{record.endpoint}-{record.name}",
        daemon=True,
    )
    thread.start()
    return thread


def apply(workspace: WorkspaceAssets, record: DeploymentRecord) -> DeploymentRecord | None:
    """Provision ``record`` and store the outcome: ``Succeeded``, or ``Failed`` with Azure's
    error. Never raises (an operation must end, never hang); ``None`` when the deployment was
    deleted meanwhile (its replicas are then stopped too). When a newer create or update of
    the deployment arrived meanwhile, the record is left to that operation."""
    deployments = OnlineDeployments(workspace.root, workspace.id)
    try:
        with _serialized(workspace, record):
            provision(workspace, record)
    except Exception as exc:  # anything: the operation must end Failed
        message = exc.message if isinstance(exc, EmulatorError) else repr(exc)
        error = {"code": "ResourceNotReady", "message": message}
        current = _current(deployments, record)
        if current is None or current.modified_time != record.modified_time:
            return current
        return deployments.set_state(record.endpoint, record.name, "Failed", error)
    current = _current(deployments, record)
    if current is None:
        stop(workspace, record.endpoint, record.name)
        return None
    if current.modified_time != record.modified_time:
        return current
    return deployments.set_state(record.endpoint, record.name, "Succeeded")


_LOCKS_GUARD = threading.Lock()
_LOCKS: dict[tuple[str, int, str, str], threading.Lock] = {}


def _serialized(workspace: WorkspaceAssets, record: DeploymentRecord) -> threading.Lock:
    """The lock of one deployment in this process: an operation that meets another (a daemon
    bringing the deployment back while a client updates it; the ARM face refuses a second PUT
    itself, :mod:`emulator.endpoints.operations`) waits for it, then rolls out from it (never
    two rollouts on one set of replicas)."""
    key = (str(workspace.root.path), workspace.id, record.endpoint.lower(), record.name.lower())
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


def provision(workspace: WorkspaceAssets, record: DeploymentRecord) -> Deployment:
    """Build the image of ``record`` and run its instances; returns once ``init()`` returned
    in them. A deployment this process already runs is updated as Azure rolls an update out:
    the new instances start beside the old ones, which keep the traffic until every new one is
    ready, then stop. A no-code deployment of a Triton model repository runs Triton's server in
    its replicas (:mod:`emulator.endpoints.triton`). Raises
    :class:`~emulator.exceptions.OperationFailed` (Azure's text and
    the log's tail) when the quota, the build or ``init()`` fails; a failed update leaves the
    previous version serving, a failed creation leaves nothing running."""
    instances = plan(record, workspace.record)
    check_quota(workspace.root, workspace.record, record, instances)
    work = workspace.directory / "online" / record.endpoint.lower() / record.name.lower()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cpu_cores, memory_gb = instances.cpu_cores, instances.memory_gb
    if instances.size is None:  # a Kubernetes deployment: its pods' limits
        cpu_cores, memory_gb = replica_limits(workspace.root, workspace.record, record)
    custom = byoc.custom_container(workspace.root, workspace.id, record.properties)
    if custom is not None:  # bring your own container: the image runs as it is
        model_id = str(record.properties.get("model") or "")
        mounted = _model(workspace, model_id) if model_id else None
        code_id = str((record.properties.get("codeConfiguration") or {}).get("codeId") or "")
        files = byoc.version_folder(workspace.directory, record)  # one per version: see byoc
        try:
            code = code_files(workspace, code_id, files / "code") if code_id else None
            limits = (cpu_cores, memory_gb)
            return byoc.provision(
                workspace, record, instances, custom, mounted, code, limits, files
            )
        except Exception:  # refused or failed: no container mounts this version's files
            shutil.rmtree(files, ignore_errors=True)
            raise
    image = build_image(workspace, record, work)
    template = replica_template(
        image,
        instances.environment,
        cpu_cores,
        memory_gb,
        instances.liveness,
        instances.readiness,
    )
    if triton.is_no_code(record):
        model = _model(workspace, str(record.properties.get("model") or ""))
        template = triton.replicas(template, model) if triton.is_triton(model) else template
    settings = _front(instances)
    live = running(workspace, record.endpoint, record.name)
    if live is not None:
        error = live.replace(template, settings, live.auth, instances.count, INIT_TIMEOUT)
        if error is not None:
            raise _not_ready(
                f"{NOT_READY}\n{error.get('message', error)}\n[emulator] The update's new "
                "instances did not become ready; the previous version keeps serving."
            )
        return live
    live = start_online(
        workspace.root.path,
        workspace.id,
        record.endpoint,
        record.name,
        template,
        instances.count,
        settings,
    )
    status, _ = live.wait(INIT_TIMEOUT)
    if status is not ServiceState.HEALTHY:
        tail = live.logs(TAIL_LINES)
        stop(workspace, record.endpoint, record.name)
        raise _not_ready(f"{NOT_READY}\nContainer logs (last {TAIL_LINES} lines):\n{tail}")
    return live


def stop(workspace: WorkspaceAssets, endpoint: str, name: str) -> None:
    """Stop the deployment's replicas, when this process runs them."""
    stop_online(workspace.root.path, workspace.id, endpoint, name)


def running(workspace: WorkspaceAssets, endpoint: str, name: str) -> Deployment | None:
    """The deployment's live replicas, when this process runs them."""
    return online(workspace.root.path, workspace.id, endpoint, name)


def absent_note(record: DeploymentRecord) -> str:
    """What ``get_logs`` shows of a deployment no replica runs for here: nothing while it is
    being created; once it succeeded, why it is not running. Azure keeps a deployment's
    ``provisioningState`` (the outcome of its last operation) ``Succeeded`` while its instances
    are down, so the record keeps it too and the logs and the scoring URI tell."""
    if record.state != "Succeeded":
        return ""
    return (
        f"[emulator] Deployment '{record.name}' of endpoint '{record.endpoint}' has no running "
        "instance: the process that ran its replicas (amlemu up, or a script's in-process "
        "emulator) has ended. Run the emulator as a daemon (amlemu up: it brings its "
        "deployments back when it starts) or create the deployment again.\n"
    )


def build_image(workspace: WorkspaceAssets, record: DeploymentRecord, work: Path) -> ImageRecord:
    """The deployment's image, built from its model, code and environment (waits for it);
    a no-code MLflow or Triton deployment's from its model alone (:mod:`emulator.endpoints.mlflow`,
    :mod:`emulator.endpoints.triton`)."""
    props = record.properties
    model = _model(workspace, str(props.get("model") or ""))
    environment_id = str(props.get("environmentId") or "")
    if mlflow.is_no_code_mlflow(props, model):
        request = mlflow.image_request(workspace.models, model, work)
        script = request.entry_script
        source = script.parent
    elif triton.is_no_code(record) and triton.is_triton(model):
        request = triton.image_request(model, work)
        script = request.entry_script
        source = script.parent
    else:
        code = props.get("codeConfiguration") or {}
        source = code_files(workspace, str(code.get("codeId") or ""), work / "code")
        script = source / str(code.get("scoringScript") or "score.py")
        if not script.is_file():
            raise BadArgument(
                f"The scoring script '{code.get('scoringScript')}' is not in the deployment's "
                "code. [emulator] Name a file of code_configuration.code in scoring_script.",
                code="UserError",
            )
        request = ImageRequest(
            entry_script=script,
            environment=environment_of(workspace, environment_id, work),
            models=(model,),
            source_directory=source,
        )
    images = workspace.images
    inputs = _inputs_key(model, source, script, environment_id)
    built = _built_from(images, inputs)
    if built is not None:
        return built
    builder = select_builder(workspace.root)
    try:
        name = validate_image_name(f"{record.endpoint}-{record.name}".lower())
    except BadArgument:
        name = "online-deployment"
    image = images.create(
        name,
        builder=builder.name,
        model_ids=[model.model_id],
        entry_script=script.name,
        properties={INPUTS_PROPERTY: inputs},
    )
    image = wait_for_build(
        images, start_build(images, image, request, builder, workspace.root.blobs)
    )
    if image.state is not CreationState.SUCCEEDED:
        lines = log_path(image).read_text(encoding="utf-8", errors="replace").splitlines()
        raise _not_ready(
            "ImageBuildFailure: the deployment's environment image failed to build.\nBuild log "
            f"(last {TAIL_LINES} lines):\n" + "\n".join(lines[-TAIL_LINES:])
        )
    return image


def _inputs_key(model: ModelRecord, source: Path, script: Path, environment_id: str) -> str:
    """What an image is built from: the model version, the code's files, the scoring script,
    the environment version (immutable, so its id stands for its content), the builder and the
    emulator's version."""
    digest = hashlib.sha256()
    for part in (model.model_id, script.name, environment_id, builder_name(), __version__):
        digest.update(part.encode() + b"\0")
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        digest.update(path.relative_to(source).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _built_from(images: ImageRegistry, inputs: str) -> ImageRecord | None:
    """An image already built from ``inputs`` that can still run (Azure builds an environment's
    image once too): an update that changes only instances or probes, or a second endpoint
    serving the same code, starts at once."""
    for image in reversed(images.records()):
        if image.properties.get(INPUTS_PROPERTY) != inputs:
            continue
        if image.state is not CreationState.SUCCEEDED or not image.location:
            continue
        if image.builder == "docker" or Path(image.location).exists():
            return image
    return None


def _front(instances: InstancePlan) -> ServiceSettings:
    """The gateway's settings: ACI's (no gate, no timeout), with the autoscaler of
    ``TargetUtilization`` scale settings."""
    front = ServiceSettings.aci()
    scale = instances.autoscale
    if scale is None:
        return front
    return dataclasses.replace(
        front,
        autoscale_enabled=True,
        autoscale_min_replicas=scale.min_instances,
        autoscale_max_replicas=scale.max_instances,
        autoscale_refresh_seconds=scale.polling_seconds,
        autoscale_target_utilization=scale.target_percent,
    )


def _not_ready(message: str) -> OperationFailed:
    return OperationFailed(message, code="ResourceNotReady", status=400)


def _current(deployments: OnlineDeployments, record: DeploymentRecord) -> DeploymentRecord | None:
    """The stored deployment of ``record`` now (``None`` once deleted)."""
    try:
        return deployments.get(record.endpoint, record.name)
    except NotFound:
        return None


def _asset(arm_id: str, kind: str) -> tuple[str, str]:
    found = _ASSET_ID.fullmatch(arm_id)
    if found is None or found["kind"] != kind:
        raise BadArgument(
            f"The deployment's {kind[:-1]} {arm_id!r} is not an ARM id of a {kind[:-1]} version "
            f"(.../{kind}/<name>/versions/<version>).",
            code="UserError",
        )
    return found["name"], found["v"]


def _model(workspace: WorkspaceAssets, arm_id: str) -> ModelRecord:
    name, version = _asset(arm_id, "models")
    record = workspace.models.get(name, int(version)) if version.isdigit() else None
    if record is None:
        raise BadArgument(
            f"Model '{name}' version '{version}' does not exist in this workspace.",
            code="UserError",
        )
    return record


def code_files(workspace: WorkspaceAssets, arm_id: str, into: Path) -> Path:
    """The code version's uploaded files, copied under ``into``. The code's URI names where
    they are: ``https://<emulator>/<account>.blob.<suffix>/<container>/<prefix>``."""
    name, version = _asset(arm_id, "codes")
    asset = AssetVersions(workspace.root, workspace.id, "codes").get(name, version)
    uri = "" if asset is None else str(asset.spec.get("codeUri") or "")
    parts = unquote(urlparse(uri).path).strip("/").split("/", 2)
    if len(parts) < 3 or ".blob." not in parts[0]:
        raise BadArgument(
            f"Code '{name}' version '{version}' has no uploaded files (codeUri {uri!r}).",
            code="UserError",
        )
    account, container, prefix = parts[0].split(".", 1)[0], parts[1], parts[2]
    blobs = BlobContainers(workspace.root)
    for blob in blobs.list(account, container, prefix + "/"):
        blobs.content.materialize(blob.digest, into / blob.name[len(prefix) + 1 :])
    into.mkdir(parents=True, exist_ok=True)
    return into


def environment_of(workspace: WorkspaceAssets, arm_id: str, work: Path) -> Environment:
    """The emulator's environment for the version's image and conda file."""
    name, version = _asset(arm_id, "environments")
    asset = AssetVersions(workspace.root, workspace.id, "environments").get(name, version)
    if asset is None:
        raise BadArgument(
            f"Environment '{name}' version '{version}' does not exist in this workspace.",
            code="UserError",
        )
    conda = asset.spec.get("condaFile")
    if conda:
        path = work / "conda.yml"
        path.write_text(str(conda), encoding="utf-8")
        environment = Environment.from_conda_specification(name, path)
    else:
        environment = Environment(name)
    if asset.spec.get("image"):
        environment.docker.base_image = str(asset.spec["image"])
    return environment
