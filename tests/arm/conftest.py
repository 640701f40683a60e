"""An emulator HTTPS server per test (fresh root, free port) and the variables that point the
real ``azure-ai-ml`` at it; every variable set here or by the SDK is restored afterwards."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.daemon.client_env import SDK_SET_VARIABLES, client_environment
from emulator.daemon.server import EmulatorServer
from emulator.settings import ROOT_ENV, STRICT_ENV
from emulator.store.root import EmulatorRoot

# azure-ai-ml 1.35 warns hundreds of times about marshmallow 4 while importing its schemas:
# noise about the client's own code, not about what these tests check.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import azure.ai.ml  # noqa: F401

#: Variables that would make DefaultAzureCredential stop before the managed-identity step.
CREDENTIAL_VARIABLES = (
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
    "AZURE_FEDERATED_TOKEN_FILE",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
)


@pytest.fixture
def arm_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    """The ARM face of a fresh root on a free loopback port."""
    root = tmp_path / "root"
    monkeypatch.setenv(ROOT_ENV, str(root))
    monkeypatch.delenv(STRICT_ENV, raising=False)
    with EmulatorServer(EmulatorRoot(root)) as server:
        yield server


@pytest.fixture
def v2_env(arm_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``amlemu env``'s variables for ``arm_server`` in this process (restored afterwards)."""
    return point_the_client_at(arm_server, monkeypatch)


def point_the_client_at(server: EmulatorServer, patch: pytest.MonkeyPatch) -> dict[str, str]:
    """Set ``amlemu env``'s variables for ``server`` through ``patch`` (no credential variable
    left that would stop DefaultAzureCredential first); a module-scoped server's fixture also
    sets its root and strictness, as :func:`arm_server` does."""
    for name in (*CREDENTIAL_VARIABLES, *SDK_SET_VARIABLES):
        patch.delenv(name, raising=False)
    variables = client_environment(server.ca, server.base_url, server.identity_secret, os.environ)
    for name, value in variables.items():
        patch.setenv(name, value)
    return variables
