"""The real ``azure-ai-ml`` client of one ``amlemu ml`` command, pointed at the emulator.

The verbs run the SDK users run, so what ``az ml`` would do to a YAML file (its schemas, the
uploads of local model/code/environment files) is done by Microsoft's own code. The client talks
to the root's daemon when ``amlemu up`` runs; otherwise the command starts a server of its own
(:func:`emulator.daemon.session.v2_session`, as ``amlemu run`` does), and what that server hosts —
the replicas of the deployments it creates — stops when the command returns, so the command says
so and recommends ``amlemu up --detach``. The credential is ``ManagedIdentityCredential``: the
emulator's identity endpoint, whatever ``AZURE_CLIENT_*`` variables the shell holds.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from emulator.cli.ml.workspace import WorkspaceRef
from emulator.daemon.files import DaemonFiles
from emulator.exceptions import InvalidSetting
from emulator.store.root import EmulatorRoot

#: Not a dependency of the emulator (SDK v1 users need none of it); the test extra has it.
INSTALL_HINT = "pip install azure-ai-ml azure-identity"


@dataclass(frozen=True)
class Sdk:
    """The two packages the verbs use, imported once per command."""

    ml: ModuleType  #: azure.ai.ml: MLClient, load_online_endpoint, load_online_deployment
    identity: ModuleType  #: azure.identity: ManagedIdentityCredential


@dataclass(frozen=True)
class Connection:
    """An ``MLClient`` bound to one workspace, and whether a daemon (not this command) serves it."""

    client: Any
    sdk: Sdk
    root: EmulatorRoot
    daemon: bool


def import_sdk() -> Sdk:
    """``azure-ai-ml`` and ``azure-identity``, or an error saying how to install them."""
    modules = []
    for name in ("azure.ai.ml", "azure.identity"):
        try:
            with warnings.catch_warnings():  # azure-ai-ml 1.35 warns about marshmallow 4 at import
                warnings.simplefilter("ignore")
                modules.append(importlib.import_module(name))
        except ImportError:
            package = name.replace(".", "-")
            raise InvalidSetting(
                f"`amlemu ml` runs the real Azure ML SDK v2, and {package} is not installed: "
                f"{INSTALL_HINT}."
            ) from None
    return Sdk(ml=modules[0], identity=modules[1])


def daemon_runs(root: EmulatorRoot) -> bool:
    """Whether ``amlemu up`` serves ``root`` (its deployments then outlive this command)."""
    return DaemonFiles.for_root(root.path).running() is not None


@contextlib.contextmanager
def connect(root: EmulatorRoot, workspace: WorkspaceRef, sdk: Sdk) -> Iterator[Connection]:
    """An ``MLClient`` for ``workspace`` in a :func:`v2_session` on ``root`` for the block."""
    from emulator.daemon.session import v2_session

    daemon = daemon_runs(root)
    with v2_session(root):
        client = sdk.ml.MLClient(
            sdk.identity.ManagedIdentityCredential(),
            subscription_id=workspace.subscription_id,
            resource_group_name=workspace.resource_group,
            workspace_name=workspace.name,
        )
        connection = Connection(client=client, sdk=sdk, root=root, daemon=daemon)
        warn_without_daemon(connection)
        yield connection


def warn_without_daemon(connection: Connection) -> None:
    """Say, on stderr, what a server of this command's own means for what the user sees."""
    if connection.daemon:
        return
    print(
        f"amlemu: warning: no emulator daemon runs for {connection.root.path}, so this command "
        "serves the workspace itself until it returns: deployments it starts stop then, and the "
        "scoring URIs it shows name its own port. Start one with `amlemu up --detach` to keep "
        "deployments serving between commands.",
        file=sys.stderr,
    )
