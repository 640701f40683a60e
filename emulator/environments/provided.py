"""The distributions Azure's inference images bring, and how the emulator provides each.

In Azure an inference environment lists ``azureml-defaults`` (or the inference server itself),
and pip pulls in the rest: ``azureml-defaults`` → ``azureml-inference-server-http`` →
``inference-schema``, plus ``azureml-core``. Scoring scripts import from all of them. The
emulator provides them two ways:

- **emulated**: the emulator's own modules answer the distribution's import paths (the shim
  table, :data:`emulator.shim.SHIMMED_MODULES`, generated into every image). A user's line
  for one is recorded in the build log, never installed: installing the real one would put a
  second ``azureml`` package in the image.
- **installed**: the real distribution from PyPI. The emulator depends on it (so its own
  install and every image carry it, as the inference server's dependencies do in Azure); a
  user's own line for it (extras, pin) is installed as written.

Each entry names the import paths a scoring script uses from it in Azure; the tests import and
use each of them inside an image of every builder (``tests/test_provided_packages.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from emulator._version import SDK_VERSION
from emulator.server.version import INFSRV_VERSION


@dataclass(frozen=True)
class ProvidedDistribution:
    """One distribution an Azure inference image carries, as the emulator provides it."""

    name: str
    #: Import paths a scoring script uses from it in Azure, all of which the emulator answers.
    modules: tuple[str, ...]
    #: What a user's pin of it gets instead (a version, or the releases it behaves as); None:
    #: the real distribution is installed from PyPI (a user's own line as written).
    behaves_as: str | None

    @property
    def installed(self) -> bool:
        return self.behaves_as is None


_CORE = f"azureml-core {SDK_VERSION}"
#: The azureml-monitoring release whose collector the emulator's follows (PyPI's latest).
MONITORING_VERSION = "0.1.0a21"

PROVIDED_BY_EMULATOR: dict[str, ProvidedDistribution] = {
    provided.name: provided
    for provided in (
        ProvidedDistribution(
            "azureml-defaults",
            ("azureml.core.model", "inference_schema.schema_decorators"),
            f"{SDK_VERSION} (azureml-inference-server-http {INFSRV_VERSION}, {_CORE})",
        ),
        ProvidedDistribution(
            "azureml-inference-server-http",
            (
                "azureml_inference_server_http.api.aml_request",
                "azureml_inference_server_http.api.aml_response",
            ),
            INFSRV_VERSION,
        ),
        ProvidedDistribution(
            "azureml-contrib-services",
            (
                "azureml.contrib.services",
                "azureml.contrib.services.aml_request",
                "azureml.contrib.services.aml_response",
            ),
            f"{SDK_VERSION} (azmlinfsrv {INFSRV_VERSION}'s AMLRequest and AMLResponse)",
        ),
        ProvidedDistribution(
            "azureml-monitoring",
            ("azureml.monitoring", "azureml.monitoring.modeldatacollector"),
            f"{MONITORING_VERSION} (ModelDataCollector writing Azure's CSV blobs as files)",
        ),
        ProvidedDistribution("azureml-core", ("azureml.core", "azureml.core.model"), _CORE),
        ProvidedDistribution(
            "azureml-sdk", ("azureml.core", "azureml.core.model"), f"{SDK_VERSION} ({_CORE})"
        ),
        ProvidedDistribution(
            "inference-schema",
            (
                "inference_schema.schema_decorators",
                "inference_schema.parameter_types.numpy_parameter_type",
                "inference_schema.parameter_types.standard_py_parameter_type",
            ),
            None,
        ),
    )
}

#: Azure-only distributions that are *not* provided, and why (the general message says less).
NOT_PROVIDED = {
    "azureml-accel-models": (
        "is the client SDK for FPGA models (azureml.accel, azureml.accel.models): the emulator "
        "offers azureml.accel on the machine that deploys (pip install 'azureml-emulator[accel]'"
        "), not inside an image; remove it from the image's environment"
    ),
    "azureml-model-management-sdk": (
        "is Machine Learning Server's operationalization SDK (azureml.deploy, azureml.api), "
        "which Azure ML inference images do not use and the emulator does not emulate; remove it "
        "and use azureml-defaults"
    ),
}


def provided(line: str) -> ProvidedDistribution | None:
    """The provided distribution a valid requirement line names, if any."""
    return PROVIDED_BY_EMULATOR.get(canonicalize_name(Requirement(line).name))


def provision_note(line: str) -> str:
    """The build log's line for a user's requirement on a provided distribution."""
    distribution = provided(line)
    assert distribution is not None, line
    pins = ",".join(str(spec) for spec in Requirement(line).specifier)
    modules = ", ".join(distribution.modules)
    if distribution.behaves_as is None:
        how = f"installed as pinned ({pins})" if pins else "installed from PyPI"
        return f"{line}: {how}, the real package ({modules})"
    recorded = f"; the pin {pins} is recorded, not installed" if pins else ""
    return (
        f"{line}: provided by the emulator, behaves as {distribution.behaves_as}{recorded} "
        f"({modules})"
    )


def defer_to_user_pins(runtime: list[str], user: list[str]) -> list[str]:
    """The emulator's runtime requirements minus installed provided distributions the user
    pinned: the user's line installs first and a later install must not replace the pin."""
    pinned = {
        canonicalize_name(requirement.name)
        for requirement in map(Requirement, user)
        if requirement.specifier
        and (distribution := PROVIDED_BY_EMULATOR.get(canonicalize_name(requirement.name)))
        and distribution.installed
    }
    return [line for line in runtime if canonicalize_name(Requirement(line).name) not in pinned]
