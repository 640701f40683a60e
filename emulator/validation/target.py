"""What is validated: an entry script, the models it is deployed with, its environment, the
deployment's limits and sample requests."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.environments.conda import CondaDependencies
from emulator.environments.environment import Environment
from emulator.validation.limits import Limits


class CannotValidate(Exception):
    """Validation could not run (bad arguments, missing files, an environment that cannot be
    built); the message names the problem and the fix. ``amlemu validate`` exits 2."""


class _Unset:
    def __repr__(self) -> str:
        return "<no expectation>"


#: ``Sample.expect`` when the output is not compared.
NO_EXPECTATION: Any = _Unset()


@dataclass(frozen=True)
class Sample:
    """One request to score: its body, the status it must get and, optionally, the output."""

    body: bytes
    status: int = 200
    expect: Any = NO_EXPECTATION
    label: str = "sample"
    #: A JSON-schema subset the output must match (see emulator.validation.json_subset).
    expect_schema: dict[str, Any] | None = None
    content_type: str = "application/json"

    @classmethod
    def from_value(cls, request: Any, label: str, **kwargs: Any) -> Sample:
        """A sample from a JSON value; a string or bytes is the body exactly as written."""
        if isinstance(request, bytes):
            body = request
        elif isinstance(request, str):
            body = request.encode("utf-8")
        else:
            body = json.dumps(request).encode("utf-8")
        return cls(body, label=label, **kwargs)

    @property
    def has_expectation(self) -> bool:
        return self.expect is not NO_EXPECTATION or self.expect_schema is not None


@dataclass(frozen=True)
class ModelSource:
    """A model file or folder, deployed as if registered as ``name`` (version 1 by default)."""

    name: str
    path: Path
    version: int | None = None


@dataclass(frozen=True)
class ValidationTarget:
    entry_script: Path
    environment: Environment
    models: tuple[ModelSource, ...] = ()
    source_directory: Path | None = None
    limits: Limits = field(default_factory=Limits)
    samples: tuple[Sample, ...] = ()
    #: Variables the deployment sets in the container (an online deployment's
    #: ``environment_variables``), seen by init() and run().
    environment_variables: dict[str, str] = field(default_factory=dict)


def resolve_entry_script(
    entry_script: str | os.PathLike[str], source_directory: Path | None, base: Path = Path(".")
) -> Path:
    """The script as ``InferenceConfig`` finds it: relative to the source directory if any
    (else to ``base``); a path that already includes the source directory is accepted too."""
    given = base / entry_script
    if source_directory is None:
        candidates = [given]
    else:
        if not source_directory.is_dir():
            raise CannotValidate(
                f"Source directory {source_directory} doesn't exist. Pass an existing folder."
            )
        candidates = [source_directory / entry_script, given]
    for candidate in candidates:
        if candidate.is_file():
            resolved = candidate.resolve()
            if source_directory is not None and not resolved.is_relative_to(
                source_directory.resolve()
            ):
                continue
            return resolved
    where = f" in source directory {source_directory}" if source_directory else ""
    raise CannotValidate(
        f"Entry script {entry_script} doesn't exist{where}. Pass the path of the scoring "
        "script" + (" relative to the source directory." if source_directory else ".")
    )


def environment_from(value: Any, base: Path, name: str = "validation-env") -> Environment:
    """An environment from a conda file (``.yml``), a pip requirements file (``.txt``), a list
    of pip requirements, an inline conda spec (a mapping), or ``None``: user-managed, i.e. this
    interpreter's packages (nothing is installed and imports are not held to a declaration)."""
    from emulator.errors import AzureMLException

    try:
        if value is None:  # nothing declared: this interpreter's packages, as they are
            env = Environment(name)
            env.python.user_managed_dependencies = True
            return env
        if isinstance(value, (str, os.PathLike)):
            path = base / value
            if not path.is_file():
                raise CannotValidate(
                    f"Environment file {path} doesn't exist. Pass a conda YAML (.yml) or a pip "
                    "requirements file (.txt)."
                )
            if path.suffix == ".txt":
                return Environment.from_pip_requirements(name, path)
            return Environment.from_conda_specification(name, path)
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            env = Environment(name)
            conda = CondaDependencies()
            conda.set_pip_requirements(value)
            env.python.conda_dependencies = conda
            return env
        if isinstance(value, dict):
            env = Environment(name)
            env.python.conda_dependencies = CondaDependencies(_underlying_structure=value)
            return env
    except AzureMLException as exc:
        raise CannotValidate(str(exc)) from None
    raise CannotValidate(
        f"Cannot read environment {value!r}: give a conda file path, a pip requirements file "
        "path, a list of pip requirements or an inline conda specification."
    )
