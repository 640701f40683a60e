"""An ``az ml`` online deployment as the validator's target, so every v1 check runs on it.

The mapping is what Azure gives the container: ``code_configuration.code`` is the source
directory and ``scoring_script`` the entry script; the one model is laid out as
``azureml-models/<name>/<version>/<file or folder>`` with ``AZUREML_MODEL_DIR`` at its version
folder (an anonymous model's name is random in Azure, so scripts join below
``AZUREML_MODEL_DIR`` only); the environment is its conda file on its image; the limits are
those of :mod:`.v2_limits` (a managed instance type's size, a Kubernetes instance type as the
endpoint's attached compute defines it); ``environment_variables`` reach init() and run().
Registered models, environments and Kubernetes computes are read from the emulator root's
workspace, found only when the files name one.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from emulator.assets.versions import AssetVersion, AssetVersions
from emulator.compute.kubernetes import KubernetesComputeRecord, KubernetesComputes
from emulator.environments.environment import Environment
from emulator.exceptions import EmulatorError
from emulator.models.layout import MODELS_DIRNAME
from emulator.models.registry import ModelRegistry
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceStore
from emulator.validation.pipeline import DEFAULT_BUDGET_S, validate
from emulator.validation.report import Report
from emulator.validation.spec import parse_sample
from emulator.validation.target import (
    CannotValidate,
    ModelSource,
    Sample,
    ValidationTarget,
    environment_from,
    resolve_entry_script,
)
from emulator.validation.v2_limits import kubernetes_limits, managed_limits
from emulator.validation.v2_yaml import (
    SAMPLES_KEY,
    EnvironmentSpec,
    ModelSpec,
    OnlineDeploymentFile,
    Registered,
    check_with_az_ml,
    is_online_deployment,
    parse_online_deployment,
    read_yaml,
)

#: The name a model given inline (``model: {path: ...}``) without a name is deployed under; in
#: Azure it is a random hash, version 1.
ANONYMOUS_MODEL = "anonymous-model"
ENVIRONMENT_NAME = "online-deployment-env"
#: Where Azure's inference containers keep the app (the models below it).
AZURE_APP_ROOT = "/var/azureml-app"
_ENDPOINT_KEYS = (
    "$schema",
    "name",
    "auth_mode",
    "description",
    "tags",
    "properties",
    "id",
    "identity",
    "location",
    "traffic",
    "mirror_traffic",
    "public_network_access",
    "provisioning_state",
    "scoring_uri",
    "openapi_uri",
    "compute",
)
_AUTH_MODES = ("key", "aml_token", "aad_token")
#: A spec file's key naming an az ml deployment YAML that stays as az ml takes it.
DEPLOYMENT_KEY = "deployment"


@dataclass(frozen=True)
class WorkspaceAssets:
    """Where registered assets are read: a workspace of an emulator root."""

    root: EmulatorRoot
    workspace_id: int


#: Finds the workspace only when the deployment names a registered asset (none may exist).
AssetsFinder = Callable[[], WorkspaceAssets]


def load_deployment(path: str | Path) -> OnlineDeploymentFile:
    """Read an online deployment YAML, held to az ml's schema where azure-ai-ml is installed."""
    path = Path(path).resolve()
    data = read_yaml(path)
    if not is_online_deployment(data):
        raise CannotValidate(
            f"{path.name} is not an az ml online deployment YAML: it has neither an online "
            "deployment $schema nor endpoint_name + code_configuration."
        )
    deployment = parse_online_deployment(data, path)
    check_with_az_ml(data, path)
    return deployment


def spec_deployment(path: str | Path) -> OnlineDeploymentFile | None:
    """The v2 deployment a spec file describes: the file itself when it is an az ml online
    deployment YAML (with ``samples``), or the YAML its ``deployment`` key names, with the
    spec's ``samples`` (so the YAML given to ``az ml`` stays untouched); ``None`` for a v1
    spec (``entry_script`` and friends)."""
    path = Path(path).resolve()
    data = read_yaml(path, "Spec file")
    if is_online_deployment(data):
        return load_deployment(path)
    if DEPLOYMENT_KEY not in data:
        return None
    extra = sorted(str(k) for k in data if k not in (DEPLOYMENT_KEY, SAMPLES_KEY))
    if extra:
        raise CannotValidate(
            f"{path.name}: {', '.join(extra)} cannot go with deployment: the az ml YAML it names "
            "describes the whole deployment; keep only deployment and samples."
        )
    samples = data.get(SAMPLES_KEY) or []
    if not isinstance(samples, list):
        raise CannotValidate(f"{path.name}: samples must be a list of {{request: ...}} entries.")
    named = path.parent / str(data[DEPLOYMENT_KEY])
    if not named.is_file():
        raise CannotValidate(
            f"{path.name}: deployment {data[DEPLOYMENT_KEY]!r} is not a file (looked at "
            f"{named}). Name the az ml online deployment YAML relative to the spec file."
        )
    deployment = load_deployment(named)
    if deployment.samples:
        raise CannotValidate(
            f"{named.name} has samples of its own; keep samples in {path.name} only (az ml "
            "refuses the key)."
        )
    return dataclasses.replace(deployment, samples=tuple(samples))


def check_endpoint(path: str | Path, deployment: OnlineDeploymentFile) -> str | None:
    """The endpoint YAML the deployment is created on: its name, auth mode and kind agree.
    Returns the name of a Kubernetes endpoint's compute (``None`` for a managed one)."""
    path = Path(path).resolve()
    data = read_yaml(path, "Endpoint file")
    where = path.name
    unknown = sorted(str(k) for k in data if k not in _ENDPOINT_KEYS)
    if unknown:
        raise CannotValidate(
            f"{where}: unknown key(s) {', '.join(unknown)}; az ml's online endpoint keys are "
            f"{', '.join(_ENDPOINT_KEYS)}."
        )
    if str(data.get("name")).casefold() != deployment.endpoint_name.casefold():
        raise CannotValidate(
            f"{deployment.path.name} deploys to endpoint_name {deployment.endpoint_name!r} but "
            f"{where} is endpoint {data.get('name')!r}: make them the same name."
        )
    auth = data.get("auth_mode", "key")
    if auth not in _AUTH_MODES:
        raise CannotValidate(f"{where}: auth_mode must be one of {', '.join(_AUTH_MODES)}.")
    kubernetes = bool(data.get("compute"))
    if kubernetes != (deployment.kind == "kubernetes"):
        endpoint_kind = "a Kubernetes" if kubernetes else "a managed"
        raise CannotValidate(
            f"{where} is {endpoint_kind} online endpoint but {deployment.path.name} is a "
            f"{deployment.kind} deployment: set the deployment's type to "
            f"{'kubernetes' if kubernetes else 'managed'}."
        )
    if kubernetes and auth == "aad_token":
        raise CannotValidate(
            f"{where}: AADToken auth mode is not supported for Kubernetes online endpoints "
            "(Azure refuses it): use auth_mode key or aml_token."
        )
    check_with_az_ml(data, path, endpoint=True)
    if not kubernetes:
        return None
    compute = str(data["compute"])
    return compute.removeprefix("azureml:").rstrip("/").rsplit("/", 1)[-1]


def deployment_target(
    deployment: OnlineDeploymentFile,
    scratch: Path,
    assets: AssetsFinder | None = None,
    samples: Iterable[Sample] = (),
    compute: str | None = None,
) -> ValidationTarget:
    """The target for ``deployment``; registered models are copied under ``scratch`` (which
    must outlive the validation). ``samples`` come after the file's own; ``compute`` is the
    Kubernetes compute of the endpoint (its instance types define a Kubernetes deployment's)."""
    where = deployment.path.name
    if deployment.kind == "kubernetes":
        if compute is None:
            limits = kubernetes_limits(deployment)
        else:
            cluster = _kubernetes_compute(compute, assets)
            limits = kubernetes_limits(
                deployment, cluster.instance_types, cluster.default_instance_type
            )
    else:
        limits = managed_limits(deployment)
    script = resolve_entry_script(deployment.scoring_script, deployment.code)
    own = [
        parse_sample(item, index, deployment.path)
        for index, item in enumerate(deployment.samples, 1)
    ]
    models = () if deployment.model is None else (_model(deployment.model, scratch, assets),)
    return ValidationTarget(
        entry_script=script,
        environment=_environment(deployment.environment, scratch, assets, where),
        models=models,
        source_directory=deployment.code,
        limits=limits,
        samples=(*own, *samples),
        environment_variables=dict(deployment.environment_variables),
    )


def inline_environment(deployment: OnlineDeploymentFile) -> Environment:
    """The deployment's environment when it is given inline (conda file on an image), with
    its ``environment_variables``: what a deployment outside any workspace can build."""
    environment = _environment(deployment.environment, Path("."), None, deployment.path.name)
    environment.environment_variables = dict(deployment.environment_variables)
    return environment


def _model(spec: ModelSpec, scratch: Path, assets: AssetsFinder | None) -> ModelSource:
    ref = spec.registered
    if ref is None:
        assert spec.path is not None  # parse_online_deployment gives a path or a reference
        return ModelSource(spec.name or ANONYMOUS_MODEL, spec.path, spec.version or 1)
    found = _assets(assets, ref)
    registry = ModelRegistry(found.root, found.workspace_id)
    version = int(ref.version) if ref.version and ref.version.isdigit() else None
    record = registry.get(ref.name, version) if ref.version is None or version else None
    if record is None:
        names = sorted({m.model_id for m in registry.records(latest=True)})
        raise CannotValidate(
            f"model {ref} is not registered in this workspace (latest versions: "
            f"{', '.join(names) or 'none'}). Register it (ml_client.models.create_or_update) "
            "or give its local path: 'model: {path: ./model}'."
        )
    folder = scratch / "registered-models" / record.name / str(record.version)
    return ModelSource(record.name, registry.materialize(record, folder), record.version)


def _environment(
    spec: EnvironmentSpec, scratch: Path, assets: AssetsFinder | None, where: str
) -> Environment:
    """A conda file on its image; an image alone brings its own packages (this interpreter's
    stand in for them)."""
    conda: Path | None = spec.conda_file
    image = spec.image
    if spec.registered is not None:
        ref = spec.registered
        found = _assets(assets, ref)
        versions = AssetVersions(found.root, found.workspace_id, "environments")
        asset = versions.get(ref.name, ref.version) if ref.version else _latest(versions, ref)
        if asset is None:
            names = sorted({f"{v.name}:{v.version}" for v in versions.versions()})
            raise CannotValidate(
                f"environment {ref} is not registered in this workspace (registered: "
                f"{', '.join(names) or 'none'}). Register it (ml_client.environments."
                "create_or_update) or give it inline: {conda_file: ..., image: ...}."
            )
        text, image = asset.spec.get("condaFile"), asset.spec.get("image")
        if text:
            conda = scratch / f"{ref.name}-{asset.version}-conda.yml"
            conda.write_text(str(text), encoding="utf-8")
    environment = environment_from(str(conda) if conda else None, Path("."), ENVIRONMENT_NAME)
    if image:
        environment.docker.base_image = str(image)
    return environment


def _latest(versions: AssetVersions, ref: Registered) -> AssetVersion | None:
    found = versions.versions(ref.name)  # newest first
    return found[0] if found else None


def _assets(assets: AssetsFinder | None, ref: Registered | str) -> WorkspaceAssets:
    if assets is None:
        raise CannotValidate(
            f"{ref} is a registered asset and no workspace was given to read it from; give "
            "its local files inline (path: / conda_file:)."
        )
    return assets()


def _kubernetes_compute(compute: str, assets: AssetsFinder | None) -> KubernetesComputeRecord:
    """The Kubernetes compute ``compute`` attached in the workspace (its instance types)."""
    found = _assets(assets, f"compute azureml:{compute}")
    workspace = WorkspaceStore(found.root).by_id(found.workspace_id)
    assert workspace is not None  # the finder returns an existing workspace
    try:
        record = KubernetesComputes(found.root, workspace).get(compute)
    except EmulatorError as exc:
        raise CannotValidate(exc.message) from None
    return record


def validate_deployment(
    deployment: OnlineDeploymentFile,
    *,
    samples: Iterable[Sample] = (),
    assets: AssetsFinder | None = None,
    mode: str = "auto",
    root: EmulatorRoot | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
    compute: str | None = None,
) -> Report:
    """Every check of :func:`~emulator.validation.pipeline.validate` on ``deployment``; the
    report says which deployment and where its model is."""
    with tempfile.TemporaryDirectory(prefix="amlemu-validate-v2-") as scratch:
        target = deployment_target(deployment, Path(scratch), assets, samples, compute)
        report = validate(target, mode=mode, root=root, budget_s=budget_s)
    model = target.models[0] if target.models else None
    report.deployment = {
        "file": deployment.path.name,
        "name": deployment.name,
        "endpointName": deployment.endpoint_name,
        "modelDir": f"{AZURE_APP_ROOT}/{MODELS_DIRNAME}/{model.name}/{model.version}"
        if model
        else None,
    }
    return report
