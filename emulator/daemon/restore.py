"""A restarted daemon brings its root's online deployments back, as Azure's endpoints outlive any
client: ``amlemu down`` then ``amlemu up`` serves the same scoring URIs (the daemon keeps its
port, :mod:`emulator.daemon.lifecycle`) with the same models and code.

The registry (``<root>/endpoints/``) keeps every deployment's request; replicas live only in
the process that hosts them. So on start the daemon marks each deployment that was serving
(``Succeeded``) ``Updating`` — Azure's state while instances are being replaced — and
provisions it again in the background (:func:`emulator.endpoints.provisioning.apply`: image,
replicas, ``init()``), so the daemon answers at once and clients see the deployment ``Updating``
until it is ready, then ``Succeeded`` (or ``Failed`` with Azure's error and the log's tail, as
a create would). A deployment whose create was cut short (``Creating``/``Updating``: the daemon
ended mid-way, even by SIGKILL) is provisioned again the same way; a ``Failed`` one stays as it
is, with its error. A daemon stopped before a deployment is back (``amlemu down`` right after
``up``) stops the replicas it had started with the rest; the deployment stays ``Updating`` (the
wait for ``init()`` never ends in a failure of the deployment's own), so the next start retries.
"""

from __future__ import annotations

import logging
import threading

from emulator.endpoints import OnlineEndpoints
from emulator.endpoints.deployments import DeploymentRecord, OnlineDeployments
from emulator.endpoints.provisioning import apply
from emulator.state import WorkspaceState, workspace_states
from emulator.store.root import EmulatorRoot

logger = logging.getLogger("emulator.daemon")

#: Provisioning states of deployments that were serving, or on their way, when the host ended.
RESTORED_STATES = ("Succeeded", "Creating", "Updating")


def restore_deployments(root: EmulatorRoot) -> list[threading.Thread]:
    """Mark the root's deployments that should run ``Updating`` (``Creating`` ones stay so) and
    provision each in a background thread; returns the threads (they end when the deployment is
    ready or failed)."""
    threads = []
    for workspace, record in root_deployments(root):
        if record.state not in RESTORED_STATES:
            continue
        state = "Creating" if record.state == "Creating" else "Updating"
        marked = OnlineDeployments(root, workspace.id).set_state(
            record.endpoint, record.name, state
        )
        logger.info(
            "Bringing back online deployment '%s' of endpoint '%s' (workspace '%s'): it was %s.",
            record.name,
            record.endpoint,
            workspace.record.name,
            record.state,
        )
        thread = threading.Thread(
            target=_bring_back,
            args=(workspace, marked),
            name=f"amlemu-restore-{record.endpoint}-{record.name}",
            daemon=True,
        )
        thread.start()
        threads.append(thread)
    return threads


def root_deployments(root: EmulatorRoot) -> list[tuple[WorkspaceState, DeploymentRecord]]:
    """Every online deployment of the root, with its workspace (``amlemu status`` lists them)."""
    if not (root.path / "endpoints" / "endpoints.sqlite3").is_file():  # no SDK v2 use yet
        return []
    found = []
    for workspace in workspace_states(root).all():
        deployments = OnlineDeployments(root, workspace.id)
        for endpoint in OnlineEndpoints(root, workspace.id).list():
            found += [(workspace, record) for record in deployments.list(endpoint.name)]
    return found


def _bring_back(workspace: WorkspaceState, record: DeploymentRecord) -> None:
    outcome = apply(workspace, record)
    where = f"online deployment '{record.name}' of endpoint '{record.endpoint}'"
    if outcome is None:
        logger.info("The %s was deleted while it was being brought back.", where)
    elif outcome.error:
        logger.warning("The %s could not be brought back: %s", where, outcome.error["message"])
    else:
        logger.info("The %s serves again.", where)
