"""SDK v2 fixtures: ``aml_v2_env`` (the variables that point ``azure-ai-ml`` at an emulator) and
``aml_ml_client`` (a real ``MLClient`` built with them).

By default each test gets an emulator of its own: a fresh root and an HTTPS server in the test's
process on a free loopback port (what ``amlemu run`` starts when no daemon runs), so tests stay
independent under ``pytest -n auto`` and a user's running ``amlemu up`` is never touched. With
``--aml-daemon`` they attach to the daemon of ``AZUREML_EMULATOR_ROOT`` (else the per-user
root) instead, so that what the tests create stays there to inspect (``amlemu portal``); a
session without that daemon fails the test saying how to start it.

Every variable the fixtures set, the ones ``DefaultAzureCredential`` would try before the
managed identity (they would send token requests to Microsoft Entra ID), and the one the SDK
sets itself (``AZUREML_CURRENT_CLOUD``) are restored after the test. Only ``aml_ml_client``
needs ``azure-ai-ml``: the plugin imports it when that fixture is used.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from emulator.daemon.files import DaemonFiles
from emulator.daemon.session import v2_session
from emulator.endpoints.deployments import OnlineDeployments
from emulator.endpoints.registry import OnlineEndpoints
from emulator.services.online import stop_online
from emulator.state import workspace_states
from emulator.store.root import EmulatorRoot
from pytest_amlemu.options import OPTIONS_KEY
from pytest_amlemu.roots import RESOURCE_GROUP, SUBSCRIPTION_ID

#: The workspace ``aml_ml_client`` is bound to (created up front, so strict mode finds it).
WORKSPACE = "test-workspace"
#: Variables that make ``DefaultAzureCredential`` stop before the managed-identity step
#: (``emulator.daemon.client_env.credential_warnings`` explains each); hidden during the test.
CREDENTIAL_VARIABLES = (
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
    "AZURE_FEDERATED_TOKEN_FILE",
)
_MISSING_SDK = (
    "aml_ml_client needs the azure-ai-ml and azure-identity packages ({error}). "
    "Install them: pip install azure-ai-ml azure-identity"
)


@pytest.fixture
def aml_v2_env(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """``amlemu env``'s variables, set in ``os.environ`` for the test (restored after it): an
    unchanged ``MLClient(DefaultAzureCredential(), ...)`` built by the code under test reaches
    the test's own emulator (``--aml-daemon``: the running daemon's)."""
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if request.config.stash[OPTIONS_KEY].daemon:
        root = _daemon_root()
    else:
        root = EmulatorRoot(request.getfixturevalue("aml_root"))
    with contextlib.ExitStack() as stack:
        if not request.config.stash[OPTIONS_KEY].daemon:
            stack.callback(_stop_hosted, root)  # after the server: no request is in flight
        variables = stack.enter_context(v2_session(root))
        yield variables


@pytest.fixture
def aml_ml_client(aml_v2_env: dict[str, str]) -> Iterator[Any]:
    """A real ``azure.ai.ml.MLClient(DefaultAzureCredential(), ...)`` bound to workspace
    ``test-workspace`` of the test's emulator."""
    try:
        with warnings.catch_warnings():  # azure-ai-ml warns about marshmallow 4 on import
            warnings.simplefilter("ignore")
            from azure.ai.ml import MLClient
            from azure.identity import DefaultAzureCredential
    except ImportError as exc:
        pytest.fail(_MISSING_SDK.format(error=exc), pytrace=False)
    # The test's root (aml_root set AZUREML_EMULATOR_ROOT) or the daemon's: the one served.
    workspace_states(EmulatorRoot.current()).create(SUBSCRIPTION_ID, RESOURCE_GROUP, WORKSPACE)
    with _invoke_headers_restored():
        yield MLClient(DefaultAzureCredential(), SUBSCRIPTION_ID, RESOURCE_GROUP, WORKSPACE)


def _daemon_root() -> EmulatorRoot:
    """The root whose daemon ``--aml-daemon`` attaches to; fails the test when none runs."""
    root = EmulatorRoot.current()
    if DaemonFiles.for_root(root.path).running() is None:
        pytest.fail(
            f"--aml-daemon: no emulator daemon runs for {root.path}. Start one with "
            f"`amlemu --root {root.path} up --detach` (or set AZUREML_EMULATOR_ROOT to the root "
            "of the daemon you started), or leave --aml-daemon out to give each test an "
            "emulator of its own.",
            pytrace=False,
        )
    return root


def _stop_hosted(root: EmulatorRoot) -> None:
    """Stop the replicas this process started for the root's online deployments (the test's
    server hosted them): nothing of a test outlives it."""
    for state in workspace_states(root).all():
        deployments = OnlineDeployments(root, state.id)
        for endpoint in OnlineEndpoints(root, state.id).list():
            for deployment in deployments.list(endpoint.name):
                stop_online(root.path, state.id, endpoint.name, deployment.name)


@contextlib.contextmanager
def _invoke_headers_restored() -> Iterator[None]:
    """azure-ai-ml (1.35) adds ``invoke(deployment_name=...)``'s header to a class-level dict,
    so every later ``invoke`` in the process would send it; its content is put back after the
    test, so one test's deployment choice never routes another test's requests."""
    try:
        from azure.ai.ml.constants._endpoint import EndpointInvokeFields
    except ImportError:  # another layout: nothing of the kind to restore
        yield
        return
    headers = getattr(EndpointInvokeFields, "DEFAULT_HEADER", None)
    saved = dict(headers) if isinstance(headers, dict) else None
    try:
        yield
    finally:
        if isinstance(headers, dict) and saved is not None:
            headers.clear()
            headers.update(saved)
