"""Reading an ``az ml`` online deployment YAML (CLI v2's ``managedOnlineDeployment`` schema) as
``az ml online-deployment create -f`` reads it: the same keys, Azure's defaults for what is left
out, and every local path relative to the YAML file's folder.

The emulator reads the file itself, always: ``azure-ai-ml`` is only a test dependency, and its
loader answers a missing model folder with a message about ARM ids. When ``azure-ai-ml`` is
installed, its own ``load_online_deployment`` then reads the file too (:func:`check_with_az_ml`),
so what the validator accepts is what ``az ml`` accepts. ``samples`` is the one key the
emulator adds (requests to score, as in ``aml-deployment*.yml`` specs); ``az ml`` does not know
it, so it is removed before the file is handed to ``azure-ai-ml``.
"""

from __future__ import annotations

import difflib
import io
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emulator.validation.target import CannotValidate

SCHEMA_URL = "https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json"
#: The emulator's own key: the requests a spec file scores.
SAMPLES_KEY = "samples"
#: ``ManagedOnlineDeploymentSchema``'s loadable fields in azure-ai-ml 1.35.2 (plus ``$schema``,
#: which every az ml YAML may carry, and Kubernetes deployments' ``resources``).
DEPLOYMENT_KEYS = (
    "$schema",
    "name",
    "endpoint_name",
    "type",
    "description",
    "tags",
    "properties",
    "id",
    "provisioning_state",
    "model",
    "model_mount_path",
    "code_configuration",
    "environment",
    "environment_variables",
    "instance_type",
    "instance_count",
    "scale_settings",
    "request_settings",
    "liveness_probe",
    "readiness_probe",
    "app_insights_enabled",
    "data_collector",
    "egress_public_network_access",
    "private_network_connection",
    "resources",
)
_REQUEST_KEYS = ("request_timeout_ms", "max_concurrent_requests_per_instance", "max_queue_wait_ms")
_PROBE_KEYS = ("initial_delay", "period", "timeout", "success_threshold", "failure_threshold")
_CODE_KEYS = ("code", "scoring_script")
#: ``azureml:<name>:<version>``, ``azureml:<name>@latest`` or the version's ARM id.
_SHORT_REF = re.compile(r"^azureml:(?P<name>[^:@/]+)(?::(?P<version>[^:@/]+)|@(?P<label>\w+))$")
_ARM_REF = re.compile(
    r"^azureml:/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
    r"Microsoft\.MachineLearningServices/workspaces/[^/]+/(?P<kind>models|environments|codes)/"
    r"(?P<name>[^/]+)/versions/(?P<version>[^/]+)$",
    re.IGNORECASE,
)
#: Azure's request_timeout_ms ceiling for managed online deployments (az ml YAML reference).
MAX_REQUEST_TIMEOUT_MS = 180_000


@dataclass(frozen=True)
class Registered:
    """An asset the deployment names instead of giving its files: ``version`` ``None`` is the
    latest."""

    name: str
    version: str | None

    def __str__(self) -> str:
        return f"azureml:{self.name}" + (f":{self.version}" if self.version else "@latest")


@dataclass(frozen=True)
class ModelSpec:
    """A local model (``path``, with the name/version written beside it, if any) or a
    registered one."""

    path: Path | None = None
    name: str | None = None
    version: int | None = None
    registered: Registered | None = None


@dataclass(frozen=True)
class EnvironmentSpec:
    """An inline environment (``conda_file`` + ``image``) or a registered one."""

    conda_file: Path | None = None
    image: str | None = None
    registered: Registered | None = None


@dataclass(frozen=True)
class RequestSettings:
    """``request_settings`` with Azure's defaults."""

    request_timeout_ms: int = 5000
    max_concurrent_requests_per_instance: int = 1
    max_queue_wait_ms: int = 500


@dataclass(frozen=True)
class Probe:
    """A liveness or readiness probe with Azure's defaults (seconds and counts)."""

    initial_delay: int = 10
    period: int = 10
    timeout: int = 2
    success_threshold: int = 1
    failure_threshold: int = 30

    @property
    def deadline_seconds(self) -> float:
        """How long a replica may take to answer the probe before it is restarted."""
        return float(self.initial_delay + self.period * self.failure_threshold)


@dataclass(frozen=True)
class OnlineDeploymentFile:
    """An online deployment YAML, checked: local paths are absolute and exist."""

    path: Path
    name: str
    endpoint_name: str
    kind: str
    code: Path
    scoring_script: str
    environment: EnvironmentSpec
    model: ModelSpec | None = None
    environment_variables: dict[str, str] = field(default_factory=dict)
    instance_type: str | None = None
    instance_count: int = 1
    request_settings: RequestSettings = field(default_factory=RequestSettings)
    liveness_probe: Probe = field(default_factory=Probe)
    readiness_probe: Probe = field(default_factory=Probe)
    #: A Kubernetes deployment's own ``{requests: {cpu, memory}, limits: {...}}``, as written.
    resources: dict[str, Any] | None = None
    #: The ``samples`` entries as written (their readers check them).
    samples: tuple[Any, ...] = ()


def is_online_deployment(data: Any) -> bool:
    """An ``az ml`` online deployment YAML: its ``$schema`` names an online deployment schema,
    or it has ``endpoint_name`` and ``code_configuration`` (keys no v1 spec has)."""
    if not isinstance(data, Mapping):
        return False
    schema = str(data.get("$schema") or "")
    if schema.endswith("OnlineDeployment.schema.json"):
        return True
    return "endpoint_name" in data and "code_configuration" in data


def read_yaml(path: Path, what: str = "Deployment file") -> dict[str, Any]:
    """The mapping in ``path``; :class:`CannotValidate` naming the file otherwise."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CannotValidate(f"Cannot read {what.lower()} {path}: {exc.strerror}.") from None
    except yaml.YAMLError as exc:
        raise CannotValidate(f"{what} {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CannotValidate(f"{what} {path} must be a YAML mapping of az ml keys.")
    return data


def load_online_deployment_file(path: str | Path) -> OnlineDeploymentFile:
    """Read and check ``path``; :class:`CannotValidate` names the key or file and the fix."""
    path = Path(path).resolve()
    return parse_online_deployment(read_yaml(path), path)


def parse_online_deployment(data: Mapping[str, Any], path: Path) -> OnlineDeploymentFile:
    """``data`` (the YAML of ``path``) as a checked deployment."""
    where = path.name
    _known_keys(data, (*DEPLOYMENT_KEYS, SAMPLES_KEY), where)
    kind = str(data.get("type") or "managed").lower()
    if kind not in ("managed", "kubernetes"):
        raise CannotValidate(f"{where}: type must be 'managed' or 'kubernetes', not {kind!r}.")
    name, endpoint = _required_str(data, "name", where), _required_str(data, "endpoint_name", where)
    base = path.parent
    code, script = _code_configuration(data.get("code_configuration"), base, where)
    instance_type = data.get("instance_type")
    if kind == "managed" and not instance_type:
        raise CannotValidate(
            f"{where}: instance_type is required for a managed online deployment, e.g. "
            "'instance_type: Standard_DS3_v2'."
        )
    samples = data.get(SAMPLES_KEY) or []
    if not isinstance(samples, list):
        raise CannotValidate(f"{where}: samples must be a list of {{request: ...}} entries.")
    return OnlineDeploymentFile(
        path=path,
        name=name,
        endpoint_name=endpoint,
        kind=kind,
        code=code,
        scoring_script=script,
        model=_model(data.get("model"), base, where),
        environment=_environment(data.get("environment"), base, where),
        environment_variables=_variables(data.get("environment_variables"), where),
        instance_type=str(instance_type) if instance_type else None,
        instance_count=_positive(data, "instance_count", 1, where),
        request_settings=_request_settings(data.get("request_settings"), kind, where),
        liveness_probe=_probe(data.get("liveness_probe"), "liveness_probe", where),
        readiness_probe=_probe(data.get("readiness_probe"), "readiness_probe", where),
        resources=_resources(data.get("resources"), kind, where),
        samples=tuple(samples),
    )


def check_with_az_ml(data: Mapping[str, Any], path: Path, endpoint: bool = False) -> None:
    """Hold the deployment (or ``endpoint``) file to ``az ml``'s own schema when
    ``azure-ai-ml`` is installed (the emulator's ``samples`` key left out);
    :class:`CannotValidate` with its message."""
    try:
        from azure.ai.ml import load_online_deployment, load_online_endpoint
        from azure.ai.ml.exceptions import ValidationException
    except ImportError:  # a test-only dependency: the emulator's own checks stand alone
        return
    from marshmallow import ValidationError

    load = load_online_endpoint if endpoint else load_online_deployment
    text = yaml.safe_dump({k: v for k, v in data.items() if k != SAMPLES_KEY}, sort_keys=False)
    try:
        with warnings.catch_warnings():  # its own marshmallow deprecations, not the user's
            warnings.simplefilter("ignore")
            load(io.StringIO(text), relative_origin=str(path))
    except (ValidationError, ValidationException) as exc:
        message = str(exc).split("The easiest way to author")[0].strip()
        raise CannotValidate(f"{path.name}: az ml would refuse this file: {message}") from None


def parse_reference(value: str, kind: str, where: str) -> Registered:
    """``azureml:name:version``, ``azureml:name@latest`` or an ARM id of a ``kind`` version."""
    short = _SHORT_REF.match(value)
    if short is not None:
        label = short["label"]
        if label is not None and label != "latest":
            raise CannotValidate(
                f"{where}: {value!r}: the only label is @latest; give "
                f"azureml:{short['name']}:<version> or azureml:{short['name']}@latest."
            )
        return Registered(short["name"], short["version"])
    arm = _ARM_REF.match(value)
    if arm is not None and arm["kind"].lower() == kind:
        return Registered(arm["name"], arm["version"])
    raise CannotValidate(
        f"{where}: {value!r} is not a registered {kind[:-1]}: write azureml:<name>:<version> "
        f"or azureml:<name>@latest (a {kind[:-1]} of this emulator's workspace), or give the "
        "local files inline."
    )


def _code_configuration(value: Any, base: Path, where: str) -> tuple[Path, str]:
    if not isinstance(value, Mapping) or not value.get("scoring_script"):
        raise CannotValidate(
            f"{where}: code_configuration is required, with the folder deployed with the "
            "script and the script in it: 'code_configuration: {code: ./src, scoring_script: "
            "score.py}'."
        )
    _known_keys(value, _CODE_KEYS, f"{where}: code_configuration")
    code = str(value.get("code") or ".")
    if code.startswith("azureml:"):
        raise CannotValidate(
            f"{where}: code_configuration.code {code!r} is registered code; validation runs "
            "the local files: give the folder (code: ./src)."
        )
    folder = (base / code).resolve()
    if not folder.is_dir():
        raise CannotValidate(
            f"{where}: code_configuration.code {code!r} is not a folder (looked at {folder}). "
            "Give the folder with the scoring script, relative to the YAML file."
        )
    script = str(value["scoring_script"])
    if not (folder / script).is_file():
        raise CannotValidate(
            f"{where}: code_configuration.scoring_script {script!r} is not in {folder}. Name "
            "the script relative to code_configuration.code."
        )
    return folder, script


def _model(value: Any, base: Path, where: str) -> ModelSpec | None:
    if value is None:
        return None
    if isinstance(value, str):
        return ModelSpec(registered=parse_reference(value, "models", f"{where}: model"))
    if not isinstance(value, Mapping) or not value.get("path"):
        raise CannotValidate(
            f"{where}: model must be a registered model (azureml:<name>:<version>) or a "
            "local one with its path: 'model: {path: ./model}'."
        )
    given = str(value["path"])
    path = (base / given).resolve()
    if not path.exists():
        raise CannotValidate(
            f"{where}: model.path {given!r} does not exist (looked at {path}). Give the model "
            "file or folder relative to the YAML file."
        )
    version = value.get("version")
    if version is not None and not str(version).isdigit():
        raise CannotValidate(f"{where}: model.version must be a number, not {version!r}.")
    name = value.get("name")
    return ModelSpec(path, str(name) if name else None, int(version) if version else None)


def _environment(value: Any, base: Path, where: str) -> EnvironmentSpec:
    if value is None:
        raise CannotValidate(
            f"{where}: environment is required for a deployment with a scoring script (az ml "
            "loads the file without one, but only MLflow models deploy without one in "
            "Azure): 'environment: {conda_file: conda.yml, image: <base image>}' or "
            "'environment: azureml:<name>:<version>'."
        )
    if isinstance(value, str):
        return EnvironmentSpec(
            registered=parse_reference(value, "environments", f"{where}: environment")
        )
    if not isinstance(value, Mapping):
        raise CannotValidate(
            f"{where}: environment must be a registered environment (azureml:<name>:<version>) "
            "or inline: 'environment: {conda_file: conda.yml, image: <base image>}'."
        )
    if value.get("build"):
        raise CannotValidate(
            f"{where}: environment.build (a Docker build context) cannot be validated: give "
            "the environment as conda_file + image."
        )
    conda = value.get("conda_file")
    conda_path = None
    if conda is not None:
        if not isinstance(conda, str):
            raise CannotValidate(f"{where}: environment.conda_file must be a file path.")
        conda_path = (base / conda).resolve()
        if not conda_path.is_file():
            raise CannotValidate(
                f"{where}: environment.conda_file {conda!r} does not exist (looked at "
                f"{conda_path}). Give the conda YAML relative to the deployment YAML."
            )
    image = value.get("image")
    if not image:
        raise CannotValidate(
            f"{where}: environment.image is required with an inline environment (the base "
            "image, e.g. mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu-inference)."
        )
    return EnvironmentSpec(conda_path, str(image))


def _resources(value: Any, kind: str, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if kind != "kubernetes":
        raise CannotValidate(
            f"{where}: resources is a Kubernetes deployment's key; a managed deployment gets "
            "the vCPUs and memory of its instance_type."
        )
    section = _section(value, "resources", ("requests", "limits"), where)
    return {key: dict(part or {}) for key, part in section.items()}


def _variables(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise CannotValidate(f"{where}: environment_variables must map names to values.")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _request_settings(value: Any, kind: str, where: str) -> RequestSettings:
    given = _section(value, "request_settings", _REQUEST_KEYS, where)
    settings = RequestSettings(
        **{
            k: _positive(given, k, getattr(RequestSettings, k), f"{where}: request_settings")
            for k in given
        }
    )
    if kind == "managed" and settings.request_timeout_ms > MAX_REQUEST_TIMEOUT_MS:
        raise CannotValidate(
            f"{where}: request_settings.request_timeout_ms {settings.request_timeout_ms} is over "
            f"Azure's limit for managed online deployments ({MAX_REQUEST_TIMEOUT_MS} ms)."
        )
    return settings


def _probe(value: Any, key: str, where: str) -> Probe:
    given = _section(value, key, _PROBE_KEYS, where)
    return Probe(**{k: _positive(given, k, getattr(Probe, k), f"{where}: {key}") for k in given})


def _section(value: Any, key: str, allowed: tuple[str, ...], where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise CannotValidate(f"{where}: {key} must be a mapping of {', '.join(allowed)}.")
    _known_keys(value, allowed, f"{where}: {key}")
    return value


#: Keys that may be 0 (every other count or duration must be at least 1).
_MAY_BE_ZERO = ("initial_delay",)


def _positive(data: Mapping[str, Any], key: str, default: int, where: str) -> int:
    value = data.get(key, default)
    least = 0 if key in _MAY_BE_ZERO else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise CannotValidate(
            f"{where}: {key} must be a whole number of at least {least}, not {value!r}."
        )
    return value


def _required_str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise CannotValidate(f"{where}: {key} is required (a name, as az ml requires).")
    return value


def _known_keys(data: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise CannotValidate(
                f"{where}: unknown key {key!r}; {hint}az ml's keys are {', '.join(allowed)}."
            )
