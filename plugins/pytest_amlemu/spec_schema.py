"""Reading ``aml-deployment*.yml`` spec files (the schema is in ``plugin.py``'s docstring).

A spec is checked completely when it is collected: a typo in a key or a wrong type is a
collection error naming the key and the fix, not a deployment that fails later for a reason
that is hard to trace back to the file.

An ``az ml`` online deployment YAML may stand in for the v1 keys (recognised by its online
deployment ``$schema``, or by ``endpoint_name`` + ``code_configuration``), with ``samples`` (the
one key az ml does not know) for its items; or the spec names one, untouched, in its
``deployment`` key beside ``samples``. Its ``code_configuration``, local ``model.path``, inline
``environment``, ``environment_variables`` and ``request_settings.request_timeout_ms`` describe
the deployment. Each spec file deploys into a fresh emulator root, so registered ``azureml:``
models and environments are refused with the fix.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emulator.validation.json_subset import SchemaError, check_schema
from emulator.validation.target import CannotValidate
from emulator.validation.v2_target import ANONYMOUS_MODEL, DEPLOYMENT_KEY, spec_deployment
from emulator.validation.v2_yaml import OnlineDeploymentFile, is_online_deployment
from pytest_amlemu.options import TARGETS

TOP_KEYS = (
    "entry_script",
    "source_directory",
    "models",
    "environment",
    "target",
    "deployment_config",
    "samples",
)
SAMPLE_KEYS = ("name", "request", "status", "expect", "expect_schema")
_ITEM_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class SpecError(ValueError):
    """The spec file is malformed; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class Sample:
    """One request to send and what to expect back."""

    name: str
    request: Any  # a string is sent as is; any other JSON value is JSON-encoded
    status: int = 200
    expect: Any = None
    has_expect: bool = False
    expect_schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class DeploymentSpecFile:
    """A parsed spec; paths are as written (relative to the spec file's folder)."""

    path: Path
    entry_script: str
    source_directory: str | None = None
    models: dict[str, str] = field(default_factory=dict)
    environment: str | list[str] | None = None
    target: str = "aci"
    deployment_config: dict[str, Any] = field(default_factory=dict)
    samples: tuple[Sample, ...] = ()
    #: The az ml online deployment standing in for the keys above (``None`` for a v1 spec).
    online: OnlineDeploymentFile | None = None


def load_spec(path: Path) -> DeploymentSpecFile:
    """Parse and check ``path``; raise :class:`SpecError` on the first problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"{path.name} is not valid YAML: {exc}") from None
    where = path.name
    if not isinstance(data, dict):
        raise SpecError(f"{where} must be a mapping with at least entry_script and samples.")
    if is_online_deployment(data) or DEPLOYMENT_KEY in data:
        return _online_spec(path)
    _known_keys(data, TOP_KEYS, where)
    entry = data.get("entry_script")
    if not isinstance(entry, str) or not entry:
        raise SpecError(f"{where}: entry_script (the scoring script's path) is required.")
    models = data.get("models") or {}
    if not isinstance(models, Mapping) or not all(
        isinstance(n, str) and isinstance(p, str) for n, p in models.items()
    ):
        raise SpecError(f"{where}: models must map names to paths, e.g. {{iris: model.pkl}}.")
    environment = data.get("environment")
    if environment is not None and not (
        isinstance(environment, str)
        or (isinstance(environment, list) and all(isinstance(r, str) for r in environment))
    ):
        raise SpecError(
            f"{where}: environment must be a conda YAML (or requirements .txt) path or a list "
            "of pip requirements; leave it out to use this interpreter's packages."
        )
    target = data.get("target", "aci")
    if target not in TARGETS:
        raise SpecError(f"{where}: target {target!r} is not one of {', '.join(TARGETS)}.")
    config = data.get("deployment_config") or {}
    if not isinstance(config, dict):
        raise SpecError(
            f"{where}: deployment_config must be a mapping of deploy_configuration() "
            "arguments, e.g. {cpu_cores: 1, memory_gb: 1}."
        )
    source = data.get("source_directory")
    if source is not None and not isinstance(source, str):
        raise SpecError(f"{where}: source_directory must be a path.")
    return DeploymentSpecFile(
        path=path,
        entry_script=entry,
        source_directory=source,
        models=dict(models),
        environment=environment,
        target=target,
        deployment_config=config,
        samples=_samples(data.get("samples"), where),
    )


def _online_spec(path: Path) -> DeploymentSpecFile:
    """An az ml online deployment YAML with ``samples``, or a spec naming one in its
    ``deployment`` key; held to az ml's schema."""
    where = path.name
    try:
        online = spec_deployment(path)
    except CannotValidate as exc:
        raise SpecError(str(exc)) from None
    assert online is not None  # the caller saw a v2 file or a deployment key
    registered = [
        f"{key} {asset.registered}"
        for key, asset in (("model", online.model), ("environment", online.environment))
        if asset is not None and asset.registered is not None
    ]
    if registered:
        raise SpecError(
            f"{where}: {', '.join(registered)}: a spec file deploys into a fresh emulator root, "
            "where nothing is registered; give the files inline (model: {path: ./model}, "
            "environment: {conda_file: conda.yml, image: ...}). `amlemu validate --deployment` "
            "reads registered assets from your workspace."
        )
    model = online.model
    models = (
        {}
        if model is None or model.path is None
        else {model.name or ANONYMOUS_MODEL: str(model.path)}
    )
    return DeploymentSpecFile(
        path=path,
        entry_script=online.scoring_script,
        source_directory=str(online.code),
        models=models,
        target="local",
        samples=_samples(list(online.samples), where),
        online=online,
    )


def _samples(raw: Any, where: str) -> tuple[Sample, ...]:
    if not isinstance(raw, list) or not raw:
        raise SpecError(
            f"{where}: samples must be a non-empty list of {{request: ..., expect: ...}} "
            "entries; each becomes a test."
        )
    samples: list[Sample] = []
    for index, entry in enumerate(raw, start=1):
        at = f"{where}: samples[{index - 1}]"
        if not isinstance(entry, dict) or "request" not in entry:
            raise SpecError(f"{at} must be a mapping with a request.")
        _known_keys(entry, SAMPLE_KEYS, at)
        name = entry.get("name", f"sample-{index}")
        if not isinstance(name, str) or not _ITEM_NAME.match(name):
            raise SpecError(f"{at}.name {name!r} must use letters, digits, '.', '_' or '-'.")
        if name in {s.name for s in samples}:
            raise SpecError(f"{at}.name {name!r} is used twice; sample names must be unique.")
        status = entry.get("status", 200)
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            raise SpecError(f"{at}.status must be an HTTP status code, not {status!r}.")
        schema = entry.get("expect_schema")
        if schema is not None:
            try:
                check_schema(schema, f"{at}.expect_schema")
            except SchemaError as exc:
                raise SpecError(str(exc)) from None
        samples.append(
            Sample(
                name=name,
                request=entry["request"],
                status=status,
                expect=entry.get("expect"),
                has_expect="expect" in entry,
                expect_schema=schema,
            )
        )
    return tuple(samples)


def _known_keys(data: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise SpecError(
                f"{where}: unknown key {key!r}; {hint}Allowed keys: {', '.join(allowed)}."
            )
