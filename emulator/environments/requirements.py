"""From an environment's conda spec to what pip can install.

Azure builds images with conda; the emulator installs from PyPI. Conda packages are mapped to
their PyPI names where one exists; conda-only packages (compilers, CUDA, BLAS runtimes) cannot
be, and are reported by name. What Azure's inference images bring (``azureml-defaults``, the
inference server, ``inference-schema``, ...) is provided by the emulator (see provided.py): its
own modules answer the Azure-only ones, which are recorded and not installed, and the real
``inference-schema`` is installed as the user wrote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from emulator.environments.environment import Environment
from emulator.environments.provided import NOT_PROVIDED, PROVIDED_BY_EMULATOR

#: conda name → PyPI name, where they differ.
CONDA_TO_PYPI = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "py-xgboost": "xgboost",
    "py-opencv": "opencv-python-headless",
    "opencv": "opencv-python-headless",
    "msgpack-python": "msgpack",
    "tensorflow-mkl": "tensorflow",
    "matplotlib-base": "matplotlib",
    "pyqt": "PyQt5",
    "lightgbm": "lightgbm",
}

#: conda packages with no PyPI equivalent: native runtimes that conda ships and pip cannot.
CONDA_ONLY = frozenset(
    {
        "cudatoolkit",
        "cuda-toolkit",
        "cudnn",
        "nccl",
        "mkl",
        "mkl-service",
        "intel-openmp",
        "libgcc",
        "libgcc-ng",
        "libstdcxx-ng",
        "libgfortran",
        "openmpi",
        "mpich",
        "blas",
        "libblas",
        "openblas",
        "nomkl",
        "_libgcc_mutex",
        "_openmp_mutex",
        "gxx_linux-64",
        "gcc_linux-64",
    }
)

#: conda packages the build provides anyway (the interpreter and its installer).
_IMPLICIT = frozenset({"python", "pip", "setuptools", "wheel"})

_URL_LINE = re.compile(r"^(?:https?|file)://", re.IGNORECASE)
_CONDA_SPEC = re.compile(r"^(?:[\w.-]+::)?(?P<name>[A-Za-z0-9_.\-]+)\s*(?P<version>.*)$")


@dataclass
class ResolvedRequirements:
    """What the builders install, and what they must refuse, for one environment."""

    #: Installed from PyPI as written (``inference-schema`` lines included: the real package).
    pip: list[str] = field(default_factory=list)
    pip_options: list[str] = field(default_factory=list)
    #: Lines naming a distribution the emulator's own modules provide: recorded, not installed.
    provided_by_emulator: list[str] = field(default_factory=list)
    unavailable: list[tuple[str, str]] = field(default_factory=list)
    python_version: str | None = None
    #: Lines naming a package by URL (pip's "URL to an archive"), such as the private wheels
    #: ``Environment.add_private_pip_wheel`` stores: the image build resolves them offline.
    urls: list[str] = field(default_factory=list)

    def requirements_txt(self) -> str:
        """A pip requirements file: options first, then one requirement per line."""
        return "".join(f"{line}\n" for line in [*self.pip_options, *self.pip])


def resolve_requirements(env: Environment) -> ResolvedRequirements:
    """Map ``env``'s conda and pip dependencies onto PyPI (user-managed envs install nothing)."""
    conda = env.python.conda_dependencies
    resolved = ResolvedRequirements(python_version=conda.get_python_version())
    if env.python.user_managed_dependencies:
        return resolved
    for spec in conda.conda_packages:
        _add_conda(resolved, spec)
    resolved.pip_options.extend(conda.pip_options)
    for line in conda.pip_packages:
        _add_pip(resolved, line)
    return resolved


def _add_conda(resolved: ResolvedRequirements, spec: str) -> None:
    match = _CONDA_SPEC.match(spec.strip())
    if match is None:
        resolved.unavailable.append((spec, "is not a valid conda package spec"))
        return
    name, version = match.group("name").lower(), match.group("version").strip()
    if name in _IMPLICIT:
        return
    if name in CONDA_ONLY:
        resolved.unavailable.append(
            (
                spec,
                "is a conda-only package with no PyPI equivalent; remove it from the "
                "environment or install what it provides with a pip package",
            )
        )
        return
    _add_pip(resolved, CONDA_TO_PYPI.get(name, name) + _pip_version(version))


def _pip_version(conda_version: str) -> str:
    """``=1.2`` (conda: 1.2.*) → ``==1.2.*``; ``=1.2.3`` → ``==1.2.3``; operators pass through."""
    version = conda_version.split()[0] if conda_version else ""
    if not version:
        return ""
    if version[0] in "<>!~" or version.startswith("=="):
        return version
    version = version.lstrip("=")
    if version.endswith("*") or version.count(".") >= 2:
        return f"=={version}"
    return f"=={version}.*"


def _add_pip(resolved: ResolvedRequirements, line: str) -> None:
    if _URL_LINE.match(line.strip()):
        resolved.urls.append(line.strip())
        return
    try:
        requirement = Requirement(line)
    except InvalidRequirement as exc:
        resolved.unavailable.append((line, f"is not a valid pip requirement ({exc})"))
        return
    name = canonicalize_name(requirement.name)
    provided = PROVIDED_BY_EMULATOR.get(name)
    if provided is not None and not provided.installed:
        resolved.provided_by_emulator.append(line)
    elif name in NOT_PROVIDED:
        resolved.unavailable.append((line, NOT_PROVIDED[name]))
    elif name.startswith("azureml-"):
        resolved.unavailable.append(
            (
                line,
                "exists only inside Azure ML and is not emulated; the emulator provides "
                f"{', '.join(sorted(PROVIDED_BY_EMULATOR))}",
            )
        )
    else:
        resolved.pip.append(line)
