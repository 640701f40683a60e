"""``CondaDependencies``: the conda/pip spec of an environment, as in ``azureml.core``.

The spec is kept as the plain mapping a conda environment file holds (``name``,
``dependencies`` with an optional ``{pip: [...]}`` entry, ``channels``), so that what the
user builds in code and what conda reads from disk are one and the same thing.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterable, Iterator
from typing import Any

import yaml

from emulator._version import SDK_VERSION
from emulator.errors import UserErrorException

__all__ = ["CondaDependencies"]

#: The python version ``create()`` and the environment factories default to.
PYTHON_DEFAULT_VERSION = "3.10.18"

_BASE_SPEC: dict[str, Any] = {
    "name": "project_environment",
    "dependencies": ["python=3.8.13", {"pip": ["azureml-defaults"]}],
    "channels": ["anaconda", "conda-forge"],
}
_DEFAULT_PIP_PACKAGES = ("azureml-defaults",)

# The SDK's defaults for its framework helpers (azureml-core 1.61's conda_dependencies.py).
TENSORFLOW_DEFAULT_VERSION = "2.2.0"
CNTK_DEFAULT_VERSION = "2.7"
_CORE_TYPES = ("cpu", "gpu")
#: Where ``save_to_file`` puts the spec when no file name is given (relative to the directory).
_AUTO_CONDA_FILE = ".azureml/auto_conda_dependencies.yml"

# Packages released in lockstep with azureml-core: only these can be pinned to its version.
_SDK_PACKAGES = frozenset(
    {
        "azureml-automl-core",
        "azureml-automl-runtime",
        "azureml-core",
        "azureml-dataset-runtime",
        "azureml-defaults",
        "azureml-interpret",
        "azureml-mlflow",
        "azureml-opendatasets",
        "azureml-pipeline",
        "azureml-pipeline-core",
        "azureml-pipeline-steps",
        "azureml-responsibleai",
        "azureml-sdk",
        "azureml-telemetry",
        "azureml-tensorboard",
        "azureml-train-automl",
        "azureml-train-automl-client",
        "azureml-train-automl-runtime",
        "azureml-train-core",
        "azureml-train-restclients-hyperdrive",
        "azureml-widgets",
    }
)

_HEADER = (
    "# Conda environment specification. The dependencies defined in this file will\n"
    "# be automatically provisioned for runs with userManagedDependencies=False.\n"
    "\n"
    "# Details about the Conda environment file format:\n"
    "# https://conda.io/docs/user-guide/tasks/manage-environments.html#create-env-file-manually\n"
    "\n"
)

# A pip name is only a name when a version specifier, extras, marker or the end follows it;
# otherwise (``git+https://...``, ``./pkg``) the whole requirement identifies the package.
_PIP_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?=\s*(?:$|[\[=<>!~;@(]))")
_CONDA_NAME = re.compile(r"^(?:[^:\s]*::)?([^\s=<>!~\[]+)")


def _pip_name(requirement: str) -> str:
    """Normalised (PEP 503) project name, so ``Scikit_Learn`` and ``scikit-learn`` match."""
    match = _PIP_NAME.match(requirement.strip())
    name = match.group(1) if match else requirement.strip()
    return re.sub(r"[-_.]+", "-", name).lower()


def _conda_name(spec: str) -> str:
    """Package name of a conda match spec (``chan::numpy>=1.2`` -> ``numpy``)."""
    match = _CONDA_NAME.match(spec.strip())
    return match.group(1).lower() if match else spec.strip().lower()


def _is_option(entry: str) -> bool:
    return entry.strip().startswith("-")


def _option_flag(option: str) -> str:
    """``--index-url https://x`` and ``--index-url=https://x`` both have flag ``--index-url``."""
    return re.split(r"[\s=]", option.strip(), maxsplit=1)[0]


def _validated(spec: object, source: str) -> dict[str, Any]:
    """Check the shape conda itself requires and say which file is wrong."""
    if not isinstance(spec, dict):
        raise UserErrorException(
            f"Conda dependencies {source} must be a YAML mapping with 'name', 'dependencies' "
            f"and 'channels' keys, got {type(spec).__name__}."
        )
    dependencies = spec.get("dependencies", [])
    if not isinstance(dependencies, list) or not all(
        isinstance(dep, str) or (isinstance(dep, dict) and isinstance(dep.get("pip", []), list))
        for dep in dependencies
    ):
        raise UserErrorException(
            f"Conda dependencies {source}: 'dependencies' must be a list of package specs and "
            "at most one '{pip: [...]}' entry."
        )
    if not isinstance(spec.get("channels", []), list):
        raise UserErrorException(f"Conda dependencies {source}: 'channels' must be a list.")
    return spec


class CondaDependencies:
    """A conda environment spec with the SDK's editing rules (pip section, python pin)."""

    #: The SDK caches the base spec's package counts here (0 until counted), as class attributes.
    DEFAULT_NUMBER_OF_CONDA_PACKAGES = 0
    DEFAULT_NUMBER_OF_PIP_PACKAGES = 0

    def __init__(
        self,
        conda_dependencies_file_path: str | os.PathLike[str] | None = None,
        _underlying_structure: dict[str, Any] | None = None,
    ) -> None:
        if conda_dependencies_file_path is not None:
            self._spec = self._load(conda_dependencies_file_path)
        elif _underlying_structure is not None:
            self._spec = _validated(copy.deepcopy(_underlying_structure), "structure")
        else:
            self._spec = copy.deepcopy(_BASE_SPEC)

    @staticmethod
    def _load(path: str | os.PathLike[str]) -> dict[str, Any]:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            raise UserErrorException(
                f"Conda dependencies file {os.fspath(path)} doesn't exist. Pass the path of an "
                f"existing conda YAML file (relative paths resolve against {os.getcwd()})."
            ) from None
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise UserErrorException(
                f"Conda dependencies file {os.fspath(path)} is not valid YAML: {exc}"
            ) from None
        return _validated(loaded, f"file {os.fspath(path)}")

    @staticmethod
    def create(
        pip_indexurl: str | None = None,
        pip_packages: Iterable[str] | None = None,
        conda_packages: Iterable[str] | None = None,
        python_version: str = PYTHON_DEFAULT_VERSION,
        pin_sdk_version: bool = True,
    ) -> CondaDependencies:
        """Build a spec from the base one; azureml SDK packages follow the emulated SDK version."""
        cd = CondaDependencies()
        cd.set_python_version(python_version)
        if pip_indexurl:
            cd.set_pip_option(f"--index-url {pip_indexurl}")
        if pip_packages is None:
            pip_packages = _DEFAULT_PIP_PACKAGES
        for default in _DEFAULT_PIP_PACKAGES:
            cd.remove_pip_package(default)
        for package in pip_packages:
            cd.add_pip_package(_pin_sdk_package(package) if pin_sdk_version else package)
        for package in conda_packages or ():
            cd.add_conda_package(package)
        return cd

    @staticmethod
    def merge_requirements(requirements: Iterable[str]) -> list[str]:
        """Fold repeated requirements of a package into one: ``a>=1``, ``a<2`` -> ``a>=1,<2``."""
        merged: dict[str, tuple[str, list[str]]] = {}
        for requirement in requirements:
            requirement = requirement.strip()
            match = _PIP_NAME.match(requirement)
            name = match.group(1) if match else requirement
            constraint = requirement[len(name) :].strip()
            _, constraints = merged.setdefault(_pip_name(name), (name, []))
            if constraint and constraint not in constraints:
                constraints.append(constraint)
        return [name + ",".join(constraints) for name, constraints in merged.values()]

    @staticmethod
    def sdk_origin_url() -> str:
        """The index the SDK's packages come from (PyPI's, as the released SDK answers)."""
        return "https://pypi.python.org/simple/index.html"

    def get_default_number_of_packages(self) -> tuple[int, int]:
        """How many conda and pip packages the base spec has (python, azureml-defaults)."""
        conda = [dep for dep in _BASE_SPEC["dependencies"] if isinstance(dep, str)]
        pip = [dep for dep in _BASE_SPEC["dependencies"] if isinstance(dep, dict)]
        return len(conda), sum(len(section["pip"]) for section in pip)

    # -- framework helpers: the SDK's pins, replacing any earlier one ---------------------

    def add_tensorflow_pip_package(
        self, core_type: str = "cpu", version: str | None = None
    ) -> None:
        """``tensorflow==<version>`` (``tensorflow-gpu`` for ``gpu``); other tensorflow* go."""
        name = "tensorflow" + _core_suffix(core_type)
        for existing in [p for p in self.pip_packages if _pip_name(p).startswith("tensorflow")]:
            self.remove_pip_package(existing)
        self.add_pip_package(f"{name}=={version or TENSORFLOW_DEFAULT_VERSION}")

    def add_tensorflow_conda_package(
        self, core_type: str = "cpu", version: str | None = None
    ) -> None:
        """``tensorflow=<version>`` as a conda package; other tensorflow* conda specs go."""
        name = "tensorflow" + _core_suffix(core_type)
        for existing in [p for p in self.conda_packages if _conda_name(p).startswith("tensorflow")]:
            self.remove_conda_package(existing)
        self.add_conda_package(f"{name}={version or TENSORFLOW_DEFAULT_VERSION}")

    def add_cntk_package(self, core_type: str = "cpu") -> None:
        """``cntk==2.7`` (``cntk-gpu``), as the SDK pins it; other cntk* pip packages go."""
        name = "cntk" + _core_suffix(core_type)
        for existing in [p for p in self.pip_packages if _pip_name(p).startswith("cntk")]:
            self.remove_pip_package(existing)
        self.add_pip_package(f"{name}=={CNTK_DEFAULT_VERSION}")

    # -- conda packages ------------------------------------------------------------------

    @property
    def _dependencies(self) -> list[Any]:
        dependencies: list[Any] = self._spec.setdefault("dependencies", [])
        return dependencies

    @property
    def conda_packages(self) -> Iterator[str]:
        """Conda package specs, python included."""
        return iter([dep for dep in self._dependencies if isinstance(dep, str)])

    def add_conda_package(self, conda_package: str) -> None:
        """Add (or replace) a conda package; a ``python`` spec replaces the python pin in place."""
        conda_package = conda_package.strip()
        name = _conda_name(conda_package)
        deps = self._dependencies
        if name == "python":
            for index, dep in enumerate(deps):
                if isinstance(dep, str) and _conda_name(dep) == "python":
                    deps[index] = conda_package
                    return
            deps.insert(0, conda_package)
            return
        deps[:] = [dep for dep in deps if not (isinstance(dep, str) and _conda_name(dep) == name)]
        deps.append(conda_package)

    def remove_conda_package(self, conda_package: str) -> None:
        """Remove every spec of the package; python cannot go, every environment needs one."""
        name = _conda_name(conda_package)
        if name == "python":
            raise UserErrorException("python must not be removed from conda dependencies")
        deps = self._dependencies
        deps[:] = [dep for dep in deps if not (isinstance(dep, str) and _conda_name(dep) == name)]

    def set_python_version(self, version: str) -> None:
        """Pin python to ``version`` (as ``python=<version>``)."""
        self.add_conda_package(f"python={version}")

    def get_python_version(self) -> str | None:
        """The python version spec (``3.8.13`` for ``python=3.8.13``), or None if unpinned."""
        for spec in self.conda_packages:
            if _conda_name(spec) == "python":
                rest = _CONDA_NAME.sub("", spec.strip(), count=1)
                return rest.strip().lstrip("=").strip() or None
        return None

    # -- channels ------------------------------------------------------------------------

    @property
    def conda_channels(self) -> Iterator[str]:
        """Channels in priority order."""
        return iter(list(self._spec.get("channels", [])))

    def add_channel(self, channel: str) -> None:
        """Append a channel (lowest priority) unless it is already there."""
        channels: list[str] = self._spec.setdefault("channels", [])
        if channel not in channels:
            channels.append(channel)

    def remove_channel(self, channel: str) -> None:
        """Remove a channel if present."""
        channels: list[str] = self._spec.setdefault("channels", [])
        if channel in channels:
            channels.remove(channel)

    # -- pip -----------------------------------------------------------------------------

    def _pip_list(self, create: bool = False) -> list[str]:
        for dep in self._dependencies:
            if isinstance(dep, dict) and "pip" in dep:
                if dep["pip"] is None:
                    dep["pip"] = []
                pip: list[str] = dep["pip"]
                return pip
        if not create:
            return []
        section: dict[str, list[str]] = {"pip": []}
        self._dependencies.append(section)
        return section["pip"]

    @property
    def pip_packages(self) -> Iterator[str]:
        """Pip requirements, without pip options."""
        return iter([entry for entry in self._pip_list() if not _is_option(entry)])

    @property
    def pip_options(self) -> Iterator[str]:
        """Pip options (``--index-url ...``) that conda passes to pip."""
        return iter([entry for entry in self._pip_list() if _is_option(entry)])

    def add_pip_package(self, pip_package: str) -> None:
        """Add (or replace) a pip requirement; options must go through ``set_pip_option``."""
        pip_package = pip_package.strip()
        if _is_option(pip_package):
            raise UserErrorException(
                f"Invalid package name {pip_package!r}: pip options are not packages. "
                f"Use set_pip_option({pip_package!r}) instead."
            )
        self.remove_pip_package(pip_package)
        self._pip_list(create=True).append(pip_package)

    def remove_pip_package(self, pip_package: str) -> None:
        """Remove every requirement of the package, whatever its version spec."""
        name = _pip_name(pip_package)
        pip = self._pip_list()
        pip[:] = [entry for entry in pip if _is_option(entry) or _pip_name(entry) != name]

    def set_pip_option(self, pip_option: str) -> None:
        """Add a pip option, ahead of the packages, unless it is already set."""
        pip_option = pip_option.strip()
        if not _is_option(pip_option):
            raise UserErrorException(
                f"Invalid pip option {pip_option!r}: options start with '-'. "
                f"Use add_pip_package({pip_option!r}) for packages."
            )
        pip = self._pip_list(create=True)
        if pip_option not in pip:
            pip.insert(len([entry for entry in pip if _is_option(entry)]), pip_option)

    def remove_pip_option(self, pip_option: str) -> None:
        """Remove an option given in full or by its flag (``--extra-index-url``)."""
        pip_option = pip_option.strip()
        pip = self._pip_list()
        pip[:] = [
            entry
            for entry in pip
            if not _is_option(entry) or pip_option not in (entry.strip(), _option_flag(entry))
        ]

    def set_pip_index_url(self, index_url: str) -> None:
        """Set the index pip installs from: ``--index-url <url>`` (a bare URL gets the flag,
        where the SDK would write the URL alone and pip would read it as a package)."""
        option = index_url.strip()
        self.set_pip_option(option if _is_option(option) else f"--index-url {option}")

    def set_pip_requirements(self, pip_requirements: Iterable[str]) -> None:
        """Replace the whole pip section, e.g. with the lines of a requirements file."""
        pip = self._pip_list(create=True)
        pip[:] = [requirement.strip() for requirement in pip_requirements]

    # -- output --------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """A copy of the spec as plain data; changing it does not change this object."""
        return copy.deepcopy(self._spec)

    def serialize_to_string(self) -> str:
        """The spec as a conda environment file (name, dependencies, channels first)."""
        first = ("name", "dependencies", "channels")
        ordered = {key: self._spec[key] for key in first if key in self._spec}
        ordered.update((key, value) for key, value in self._spec.items() if key not in ordered)
        body = yaml.safe_dump(
            ordered, sort_keys=False, default_flow_style=False, allow_unicode=True
        )
        return _HEADER + body

    def save(self, path: str | os.PathLike[str] | None = None) -> str:
        """Write the spec to the file ``path`` (its folder must exist); returns the path."""
        if path is None or os.path.isdir(path):
            raise UserErrorException(
                "Cannot save a conda environment specification file to "
                f"{'no path' if path is None else 'the directory ' + os.fspath(path)}. Pass the "
                "path of the file to write, e.g. save('conda_dependencies.yml')."
            )
        parent = os.path.dirname(os.fspath(path))
        if parent and not os.path.isdir(parent):
            raise UserErrorException(
                f"Cannot save the conda environment specification file to {os.fspath(path)}: "
                f"the folder {parent} doesn't exist. Create it first or choose another path."
            )
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self.serialize_to_string())
        return os.fspath(path)

    def save_to_file(
        self, base_directory: str | os.PathLike[str], conda_file_path: str | None = None
    ) -> str:
        """The SDK's older form of :meth:`save`: write to ``conda_file_path`` relative to
        ``base_directory`` (``.azureml/auto_conda_dependencies.yml`` by default, its folder
        created); returns that relative path, with forward slashes as the SDK does."""
        relative = (conda_file_path or _AUTO_CONDA_FILE).replace("\\", "/")
        full_path = os.path.join(os.path.abspath(base_directory), relative)
        os.makedirs(os.path.dirname(full_path), exist_ok=True)
        self.save(full_path)
        return relative


def _core_suffix(core_type: str) -> str:
    """``""`` for cpu, ``"-gpu"`` for gpu: how the SDK names a framework's GPU build."""
    if core_type not in _CORE_TYPES:
        raise UserErrorException(f"Invalid core type {core_type}. Only accept 'cpu' or 'gpu'")
    return "-gpu" if core_type == "gpu" else ""


def _pin_sdk_package(requirement: str) -> str:
    """``azureml-core`` -> ``azureml-core~=<SDK version>``; anything already constrained stays."""
    match = _PIP_NAME.match(requirement.strip())
    if match is None or _pip_name(match.group(1)) not in _SDK_PACKAGES:
        return requirement
    if re.fullmatch(r"\s*(\[[^\]]*\])?\s*", requirement.strip()[match.end() :]):
        return f"{requirement.strip()}~={SDK_VERSION}"
    return requirement
