"""``amlemu ml batch-endpoint invoke --file inputs.yml``: a job's named inputs and outputs.

Microsoft's pipeline batch deployment samples invoke with ``az ml batch-endpoint invoke -n EP
-f inputs.yml``, whose file names each input and output of the job::

    inputs:
      input_data:
        type: uri_folder
        path: azureml:heart-dataset-unlabeled@latest
      score_mode:
        type: string
        default: append
    outputs:
      scores:
        type: uri_folder
        path: azureml://datastores/workspaceblobstore/paths/batch-output

Each becomes the SDK's ``Input``/``Output`` for ``batch_endpoints.invoke(inputs=...,
outputs=...)``; literal inputs (``string``, ``number``, ``integer``, ``boolean``) carry their
``default``. A local path is relative to the file, as paths in every az ml YAML are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from emulator.exceptions import InvalidSetting

LITERAL_TYPES = frozenset({"string", "number", "integer", "boolean"})
_SECTIONS = ("inputs", "outputs")


@dataclass(frozen=True)
class JobPorts:
    """The ``inputs=`` and ``outputs=`` of one invoke, as the SDK takes them."""

    inputs: dict[str, Any]
    outputs: dict[str, Any]


def read_job_ports(source: Path, ml: Any) -> JobPorts:
    """``source``'s inputs and outputs as ``ml.Input``/``ml.Output``; an error naming the entry
    and the fix for anything else."""
    try:
        spec = yaml.safe_load(source.read_text())
    except yaml.YAMLError as exc:
        raise InvalidSetting(f"Error while parsing yaml file: {source}\n\n{exc}") from None
    if not isinstance(spec, dict) or not spec:
        raise InvalidSetting(
            f"--file {source}: give the job's `inputs:` and/or `outputs:` as mappings of names "
            "to {type, path} (literal inputs: {type, default})."
        )
    unknown = sorted(set(spec) - set(_SECTIONS))
    if unknown:
        raise InvalidSetting(
            f"--file {source}: unknown field(s) {', '.join(map(repr, unknown))}; an invoke file "
            "holds `inputs:` and `outputs:` only."
        )
    base = source.parent
    inputs = {name: _input(ml, base, name, entry) for name, entry in _section(spec, "inputs")}
    outputs = {name: _output(ml, base, name, entry) for name, entry in _section(spec, "outputs")}
    return JobPorts(inputs=inputs, outputs=outputs)


def _section(spec: dict[str, Any], key: str) -> list[tuple[str, dict[str, Any]]]:
    section = spec.get(key) or {}
    if not isinstance(section, dict):
        raise InvalidSetting(f"`{key}:` must map names to {{type, path}}, not {section!r}.")
    for name, entry in section.items():
        if not isinstance(entry, dict):
            raise InvalidSetting(
                f"{key[:-1].capitalize()} '{name}' is {entry!r}: give it as a mapping, e.g. "
                "{type: uri_folder, path: ./data} (literal inputs: {type: string, default: x})."
            )
    return [(str(name), entry) for name, entry in section.items()]


def _input(ml: Any, base: Path, name: str, entry: dict[str, Any]) -> Any:
    kind = str(entry.get("type") or "uri_folder")
    if kind in LITERAL_TYPES:
        return ml.Input(type=kind, default=entry.get("default"))
    path = entry.get("path")
    if not path:
        raise InvalidSetting(f"Input '{name}' ({kind}) has no path: add `path:` to it.")
    return ml.Input(type=kind, path=_located(base, str(path)))


def _output(ml: Any, base: Path, name: str, entry: dict[str, Any]) -> Any:
    kind = str(entry.get("type") or "uri_folder")
    path = entry.get("path")
    return ml.Output(type=kind, path=_located(base, str(path)) if path else None)


def _located(base: Path, path: str) -> str:
    """A local path relative to the file; ``azureml:`` and URLs as written."""
    if path.startswith("azureml:") or "://" in path:
        return path
    return str((base / path).resolve())
