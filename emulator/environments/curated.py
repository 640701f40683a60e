"""Azure's curated environments: read-only entries every workspace lists and can get by name.

Azure serves them from its environment registry, not from ``azureml-core`` (the 1.61 wheel holds
no definition of them: ``grep -r AzureML-Minimal`` finds none), so their contents here are the
last versions Azure published, as written in their definitions: Python 3.6/3.7/3.8, old
``azureml-*`` pins and Ubuntu 16.04-20.04 base images. Building them goes through the emulator's
usual rules for old Pythons and pins (the ``python`` and ``nearest`` settings of a build); the
``azureml-*`` packages are the emulator's own (:mod:`emulator.environments.provided`).

The Azure-only packages the emulator neither provides nor can install (``azureml-telemetry``,
``azureml-mlflow``, the training and AutoML SDKs of ``AzureML-Tutorial``) are left out of the
emulator's copies, so that these environments build and serve: they report usage, track runs
and train in Azure, which a scoring container offline does none of. ``Curated.left_out`` lists
them per environment.

Names starting with ``AzureML`` are reserved: registering one is refused, as Azure refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from emulator.environments.provided import PROVIDED_BY_EMULATOR

#: The prefix Azure reserves for curated environments.
RESERVED_PREFIX = "AzureML"


@dataclass(frozen=True)
class Curated:
    """One curated environment as Azure published it."""

    name: str
    version: str
    base_image: str
    conda: dict[str, Any]
    #: Azure's pip lines that the emulator's copy leaves out (see the module docstring).
    left_out: tuple[str, ...] = field(default=())

    def definition(self) -> dict[str, Any]:
        """The SDK's JSON definition (``Environment._serialize_to_dict``'s keys)."""
        return {
            "name": self.name,
            "version": self.version,
            "environmentVariables": {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"},
            "python": {
                "userManagedDependencies": False,
                "interpreterPath": "python",
                "condaDependenciesFile": None,
                "baseCondaEnvironment": None,
                "condaDependencies": self.conda,
            },
            "docker": {
                "enabled": False,
                "baseImage": self.base_image,
                "baseDockerfile": None,
                "buildContext": None,
                "sharedVolumes": True,
                "shmSize": None,
                "arguments": [],
                "baseImageRegistry": {
                    "address": None,
                    "username": None,
                    "password": None,
                    "registryIdentity": None,
                },
                "platform": {"os": "Linux", "architecture": "amd64"},
            },
            "inferencingStackVersion": None,
        }


def _pinned(version: str, *packages: str) -> list[str]:
    return [f"{package}=={version}" for package in packages]


def _azure_only(line: str) -> bool:
    """An ``azureml-*`` line the emulator neither provides nor can install."""
    name = canonicalize_name(Requirement(line).name)
    return name.startswith("azureml-") and name not in PROVIDED_BY_EMULATOR


def _curated(
    name: str, version: str, base_image: str, spec: dict[str, Any], pip: list[str]
) -> Curated:
    """A curated environment as Azure published it (``spec`` without its pip section, which
    is ``pip`` less the Azure-only lines, appended after the conda packages)."""
    kept = [line for line in pip if not _azure_only(line)]
    conda = {**spec, "dependencies": [*spec["dependencies"], {"pip": kept}]}
    left_out = tuple(line for line in pip if _azure_only(line))
    return Curated(name, version, base_image, conda, left_out)


_SKLEARN_024 = [
    "matplotlib~=3.3",
    "psutil~=5.8",
    "tqdm~=4.59",
    "pandas~=1.1",
    "scipy~=1.5",
    "numpy~=1.10",
    "ipykernel~=6.0",
    *_pinned("1.38.0", "azureml-core", "azureml-defaults", "azureml-mlflow", "azureml-telemetry"),
    "scikit-learn~=0.24.1",
    "debugpy~=1.4",
]
_SKLEARN_10 = [
    "matplotlib~=3.5.0",
    "psutil~=5.8.0",
    "tqdm~=4.62.0",
    "pandas~=1.3.0",
    "scipy~=1.7.0",
    "numpy~=1.21.0",
    "ipykernel~=6.0",
    *_pinned("1.48.0", "azureml-core", "azureml-defaults", "azureml-mlflow", "azureml-telemetry"),
    "scikit-learn~=1.0.0",
    "debugpy~=1.6.3",
]
_TUTORIAL_PIP = [
    *_pinned(
        "1.36.0",
        "azureml-core",
        "azureml-defaults",
        "azureml-telemetry",
        "azureml-train-restclients-hyperdrive",
        "azureml-train-core",
        "azureml-widgets",
        "azureml-pipeline-core",
        "azureml-pipeline-steps",
        "azureml-opendatasets",
        "azureml-automl-core",
        "azureml-automl-runtime",
        "azureml-train-automl-client",
        "azureml-train-automl-runtime",
        "azureml-train-automl",
        "azureml-train",
        "azureml-sdk",
        "azureml-interpret",
        "azureml-tensorboard",
        "azureml-mlflow",
    ),
    "mlflow",
    "sklearn-pandas",
]

_UBUNTU16 = "mcr.microsoft.com/azureml/intelmpi2018.3-ubuntu16.04:20210301.v1"

CURATED: tuple[Curated, ...] = (
    _curated(
        "AzureML-Minimal",
        "48",
        _UBUNTU16,
        {
            "name": "project_environment",
            "dependencies": ["python=3.6.2"],
            "channels": ["conda-forge"],
        },
        _pinned("1.36.0", "azureml-core", "azureml-defaults"),
    ),
    _curated(
        "AzureML-Tutorial",
        "61",
        _UBUNTU16,
        {
            "name": "project_environment",
            "dependencies": [
                "python=3.6.2",
                "pandas",
                "numpy",
                "tqdm",
                "scikit-learn",
                "matplotlib",
                "seaborn",
            ],
            "channels": ["anaconda", "conda-forge"],
        },
        _TUTORIAL_PIP,
    ),
    _curated(
        "AzureML-sklearn-0.24-ubuntu18.04-py37-cpu",
        "49",
        "mcr.microsoft.com/azureml/openmpi3.1.2-ubuntu18.04:20220113.v1",
        {
            "name": "sklearn-0.24.1",
            "dependencies": ["python=3.7", "pip=21.1.2"],
            "channels": ["conda-forge"],
        },
        _SKLEARN_024,
    ),
    _curated(
        "AzureML-sklearn-1.0-ubuntu20.04-py38-cpu",
        "36",
        "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:20230103.v1",
        {
            "name": "sklearn-1.0",
            "dependencies": ["python=3.8", "pip=21.2.4"],
            "channels": ["conda-forge"],
        },
        _SKLEARN_10,
    ),
)


def curated(name: str) -> Curated | None:
    """The curated environment called ``name`` (exactly, as Azure matches it), or None."""
    return next((entry for entry in CURATED if entry.name == name), None)


def is_reserved(name: str) -> bool:
    """Whether ``name`` is in the curated namespace (case-insensitive, as Azure checks it)."""
    return name.casefold().startswith(RESERVED_PREFIX.casefold())
