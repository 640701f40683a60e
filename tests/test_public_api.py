"""What ``import emulator`` offers: the classes users reach for, without deep import paths."""

from __future__ import annotations

import subprocess
import sys

import pytest

import emulator
from emulator.mock import AzureMock
from emulator.sdk.compute import AksCompute, ComputeTarget
from emulator.sdk.image import ContainerImage, Image
from emulator.sdk.inference_config import InferenceConfig
from emulator.sdk.webservice import AciWebservice, AksWebservice, LocalWebservice, Webservice


def test_the_package_exports_the_sdk_classes_and_the_http_mock() -> None:
    assert (
        emulator.Webservice,
        emulator.AciWebservice,
        emulator.AksWebservice,
        emulator.LocalWebservice,
        emulator.InferenceConfig,
        emulator.Image,
        emulator.ContainerImage,
        emulator.ComputeTarget,
        emulator.AksCompute,
        emulator.AzureMock,
    ) == (
        Webservice,
        AciWebservice,
        AksWebservice,
        LocalWebservice,
        InferenceConfig,
        Image,
        ContainerImage,
        ComputeTarget,
        AksCompute,
        AzureMock,
    )


def test_every_exported_name_resolves_and_is_listed() -> None:
    namespace: dict[str, object] = {}
    exec("from emulator import *", namespace)  # what a user's star import gets
    assert sorted(n for n in namespace if n != "__builtins__") == sorted(emulator.__all__)
    assert set(emulator.__all__) <= set(dir(emulator))


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match=r"^module 'emulator' has no attribute 'Nope'$"):
        emulator.Nope  # type: ignore[attr-defined]  # noqa: B018


def test_import_emulator_stays_free_of_services_and_responses() -> None:
    # Scoring workers import emulator: the gateways, runtime and `responses` load on first use.
    code = (
        "import sys, emulator; "
        "print(sorted(m for m in sys.modules if m == 'responses' "
        "or m.startswith(('emulator.services.manager', 'emulator.sdk.webservice', "
        "'emulator.mock.azure'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
