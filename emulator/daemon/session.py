"""SDK v2 for one program's lifetime: the root's daemon when one runs, else a private server.

``emulator.activate()`` enters one through :func:`activate_v2` (until the last ``deactivate()``).

``amlemu run script.py`` (and the pytest fixtures) use :func:`v2_session`: when ``amlemu up`` runs
for the root, the script's client talks to that daemon (endpoints it creates then outlive the
script, as in Azure, and so do the SDK v1 services it deploys: :mod:`emulator.daemon.handover`);
otherwise an :class:`~emulator.daemon.server.EmulatorServer` is started in
this process for the duration only and registered nowhere, so two scripts on one root never stop
each other's server. ``DOCKER_HOST`` points at the emulator's Docker API
(:mod:`emulator.dockerapi`, for azure-ai-ml's ``local=True``): the daemon's, else one of this
session on a private socket. Either way the variables of ``amlemu env`` are set inside and every
variable they, or the SDK itself (``AZUREML_CURRENT_CLOUD``), changed is put back on the way out.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

from emulator.arm.identity import identity_secret
from emulator.daemon.ca import LocalCA
from emulator.daemon.client_env import SDK_SET_VARIABLES, client_environment
from emulator.daemon.files import DaemonFiles
from emulator.daemon.handover import DaemonReceiver
from emulator.daemon.server import EmulatorServer
from emulator.dockerapi import DockerApiServer, client_variables, daemon_variables, private_socket
from emulator.services.hosting import HOST
from emulator.store.root import EmulatorRoot


@contextlib.contextmanager
def v2_session(root: EmulatorRoot) -> Iterator[dict[str, str]]:
    """Point ``azure-ai-ml`` at ``root`` inside the block; yields the variables it set."""
    info = DaemonFiles.for_root(root.path).running()
    with contextlib.ExitStack() as stack:
        docker: dict[str, str] = {}
        if info is not None:
            base_url = info.base_url
            ca = LocalCA.for_root(root.path)
            secret = identity_secret(root.path / "daemon")
            docker = daemon_variables(root.path, os.environ)
            # SDK v1 deployments too belong to the daemon and outlive this process
            previous = HOST.hand_over_to(root.path, DaemonReceiver(base_url, ca, secret))
            stack.callback(HOST.hand_over_to, root.path, previous)
        else:
            server = stack.enter_context(EmulatorServer(root))
            base_url, ca, secret = server.base_url, server.ca, server.identity_secret
        if not docker:  # azure-ai-ml's local=True: a Docker API of this session
            api = stack.enter_context(DockerApiServer(root, private_socket()))
            docker = client_variables(api.docker_host, os.environ)
        variables = {**client_environment(ca, base_url, secret, os.environ), **docker}
        stack.enter_context(_restored_environ((*variables, *SDK_SET_VARIABLES)))
        os.environ.update(variables)
        for name in SDK_SET_VARIABLES:  # a cloud chosen before would override the metadata
            os.environ.pop(name, None)
        yield variables


_lock = threading.Lock()
_depth = 0
_active: contextlib.ExitStack | None = None


def activate_v2() -> None:
    """Enter a :func:`v2_session` on the current root for ``emulator.activate()`` (notebooks);
    nested calls are counted, as the shim's are."""
    global _depth, _active
    with _lock:
        _depth += 1
        if _depth > 1:
            return
        stack = contextlib.ExitStack()
        try:
            stack.enter_context(v2_session(EmulatorRoot.current()))
        except BaseException:
            _depth -= 1
            raise
        _active = stack


def deactivate_v2() -> None:
    """Undo one :func:`activate_v2`; the last one stops the server and restores the variables."""
    global _depth, _active
    with _lock:
        if _depth == 0:
            return
        _depth -= 1
        if _depth == 0 and _active is not None:
            _active.close()
            _active = None


@contextlib.contextmanager
def _restored_environ(names: tuple[str, ...]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
