"""Reading a validation target from a deployment spec file or from command-line values.

A spec file (``aml-deployment.yml``, also collected by the pytest plugin) has the keys
``entry_script``, ``source_directory``, ``models`` (name: path, or name: {path, version}),
``environment`` (a conda/pip file path, a pip list or an inline conda spec), ``target``,
``deployment_config`` (a mapping) and ``samples`` (a list of ``{name, request, status, expect,
expect_schema}``). Relative paths are relative to the spec file's folder; without an
environment the script runs on this interpreter's packages, as the pytest collection does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from emulator.validation.json_subset import SchemaError, check_schema
from emulator.validation.limits import Limits, LimitsError
from emulator.validation.target import (
    NO_EXPECTATION,
    CannotValidate,
    ModelSource,
    Sample,
    ValidationTarget,
    environment_from,
    resolve_entry_script,
)

SPEC_KEYS = (
    "entry_script",
    "source_directory",
    "models",
    "environment",
    "target",
    "deployment_config",
    "samples",
)
_MODEL_ARG = re.compile(r"^(?P<name>[^=:]+)(?::(?P<version>\d+))?=(?P<path>.+)$")
_SAMPLE_KEYS = ("name", "request", "status", "expect", "expect_schema")


def load_spec(path: str | Path) -> ValidationTarget:
    """The target a spec file describes; :class:`CannotValidate` names any bad key."""
    spec_path = Path(path)
    try:
        data = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CannotValidate(f"Cannot read spec file {spec_path}: {exc.strerror}.") from None
    except yaml.YAMLError as exc:
        raise CannotValidate(f"Spec file {spec_path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CannotValidate(f"Spec file {spec_path} must be a mapping with keys {SPEC_KEYS}.")
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise CannotValidate(
            f"Spec file {spec_path}: unknown key(s) {', '.join(unknown)}; known keys are "
            f"{', '.join(SPEC_KEYS)}."
        )
    if not data.get("entry_script"):
        raise CannotValidate(f"Spec file {spec_path}: entry_script is required.")
    base = spec_path.parent
    models = data.get("models") or {}
    if not isinstance(models, Mapping):
        raise CannotValidate(
            f"Spec file {spec_path}: models must map model names to paths, e.g. "
            "'models: {sklearn-iris: model.pkl}'."
        )
    samples = data.get("samples") or []
    if not isinstance(samples, list):
        raise CannotValidate(f"Spec file {spec_path}: samples must be a list.")
    return build_target(
        entry_script=str(data["entry_script"]),
        source_directory=data.get("source_directory"),
        models=[_spec_model(base, name, value, spec_path) for name, value in models.items()],
        environment=data.get("environment"),
        target=data.get("target"),
        deployment_config=data.get("deployment_config"),
        samples=[parse_sample(item, i, spec_path) for i, item in enumerate(samples, 1)],
        base=base,
    )


def build_target(
    *,
    entry_script: str,
    source_directory: str | None = None,
    models: Iterable[ModelSource] = (),
    environment: Any = None,
    target: str | None = None,
    deployment_config: Mapping[str, Any] | None = None,
    samples: Iterable[Sample] = (),
    base: Path = Path("."),
) -> ValidationTarget:
    """A checked target: files exist, the limits are readable."""
    source = (base / source_directory).resolve() if source_directory else None
    script = resolve_entry_script(entry_script, source, base)
    models = tuple(models)
    for model in models:
        if not model.path.exists():
            raise CannotValidate(
                f"Model {model.name}: {model.path} doesn't exist. Pass the file or folder "
                "that is registered as this model."
            )
    names = [model.name for model in models]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise CannotValidate(f"Model {', '.join(duplicated)} is given twice; pass each once.")
    try:
        limits = Limits.from_config(target, deployment_config)
    except LimitsError as exc:
        raise CannotValidate(str(exc)) from None
    return ValidationTarget(
        entry_script=script,
        environment=environment_from(environment, base),
        models=models,
        source_directory=source,
        limits=limits,
        samples=tuple(samples),
    )


def parse_model_arg(value: str) -> ModelSource:
    """``NAME=PATH`` or ``NAME:VERSION=PATH`` (the version decides ``<name>/<version>/``)."""
    match = _MODEL_ARG.match(value)
    if match is None:
        raise CannotValidate(
            f"--model {value!r}: expected NAME=PATH or NAME:VERSION=PATH, e.g. "
            "--model sklearn-iris=outputs/model.pkl."
        )
    version = match.group("version")
    return ModelSource(
        match.group("name"), Path(match.group("path")), int(version) if version else None
    )


def _spec_model(base: Path, name: Any, value: Any, spec_path: Path) -> ModelSource:
    if isinstance(value, Mapping) and "path" in value:
        version = value.get("version")
        if version is not None and (not isinstance(version, int) or version < 1):
            raise CannotValidate(
                f"Spec file {spec_path}: model {name}: version must be a positive integer."
            )
        return ModelSource(str(name), base / str(value["path"]), version)
    if isinstance(value, str):
        return ModelSource(str(name), base / value, None)
    raise CannotValidate(
        f"Spec file {spec_path}: model {name} must be a path or {{path: ..., version: N}}."
    )


def parse_sample(item: Any, index: int, spec_path: Path) -> Sample:
    """The ``index``-th (from 1) ``samples`` entry of ``spec_path``."""
    if not isinstance(item, Mapping) or "request" not in item:
        raise CannotValidate(
            f"Spec file {spec_path}: sample {index} must be a mapping with a 'request' (and "
            "optionally 'status' and 'expect')."
        )
    unknown = sorted(set(item) - set(_SAMPLE_KEYS))
    if unknown:
        raise CannotValidate(
            f"Spec file {spec_path}: sample {index}: unknown key(s) {', '.join(unknown)}; "
            f"known keys are {', '.join(_SAMPLE_KEYS)}."
        )
    status = item.get("status", 200)
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise CannotValidate(
            f"Spec file {spec_path}: sample {index}: status must be an HTTP status code."
        )
    return Sample.from_value(
        item["request"],
        str(item.get("name") or f"sample {index}"),
        status=status,
        expect=item.get("expect", NO_EXPECTATION),
        expect_schema=_schema(item.get("expect_schema"), spec_path, index),
    )


def _schema(schema: Any, spec_path: Path, index: int) -> dict[str, Any] | None:
    if schema is None:
        return None
    try:
        check_schema(schema)
    except SchemaError as exc:
        raise CannotValidate(f"Spec file {spec_path}: sample {index}: {exc}") from exc
    return dict(schema)
