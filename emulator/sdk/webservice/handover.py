"""SDK v1 deployments handed to the root's daemon, in the v1 face's own vocabulary.

In Azure a web service outlives the notebook that deployed it. The emulator's services live in
the process that hosts them, so while ``amlemu up`` runs for a root, a process attached to it
(``amlemu run``, ``emulator.activate()``: :mod:`emulator.daemon.session` registers the daemon
with :data:`~emulator.services.hosting.HOST`) sends its deployments to the daemon instead of
hosting them itself. What travels is what the user wrote: the deployment configuration's
arguments (a configuration keeps exactly what the caller passed, under the SDK's names), the
image and the service name. The daemon rebuilds the configuration from them and translates it
exactly as a deploy in the script would (:func:`daemon_spec`), and keeps the arguments in the
service record (:data:`DAEMON_SETTING`), so a restarted daemon rebuilds the same service from the
record alone. What a script then asks of such a service goes to the daemon too
(:func:`on_daemon`: updates, ``reload()``, logs; deletes and new keys apply there at once).
Without a daemon nothing here is used.
"""

from __future__ import annotations

import inspect
import json
import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from emulator.exceptions import BadArgument
from emulator.images.records import ImageRecord
from emulator.sdk.exceptions import WebserviceException
from emulator.sdk.translation import v1_errors
from emulator.sdk.webservice_config import (
    AciServiceDeploymentConfiguration,
    AksServiceDeploymentConfiguration,
    LocalWebserviceDeploymentConfiguration,
)
from emulator.sdk.webservice_config.base import WebserviceDeploymentConfiguration
from emulator.services.hosting import HOST
from emulator.services.manager import DeploymentSpec
from emulator.services.records import ServiceRecord

if TYPE_CHECKING:
    from emulator.sdk.workspace import Workspace

#: The key of a daemon-hosted service's settings that keeps its configuration's arguments
#: (private: never in ``serialize()``).
DAEMON_SETTING = "emulatorDaemon"

_CONFIGURATIONS: dict[str, type[WebserviceDeploymentConfiguration]] = {
    "ACI": AciServiceDeploymentConfiguration,
    "AKS": AksServiceDeploymentConfiguration,
    "Local": LocalWebserviceDeploymentConfiguration,
}


def hand_over(
    workspace: Workspace,
    name: str,
    image: ImageRecord,
    config: WebserviceDeploymentConfiguration,
    spec: DeploymentSpec,
    overwrite: bool,
) -> ServiceRecord | None:
    """Deploy through the root's daemon when this process is attached to one; returns the new
    service's record (``None``: no daemon, the caller hosts the service itself). ``spec`` is
    what this process made of ``config``: its cluster is the one the target object named, and
    an ``ssl_enabled`` service's cname resolves to loopback here too (:mod:`emulator.services.
    tls`), so this script reaches the service at its scoring URI as when it hosted it."""
    state = workspace.emulator_state
    receiver = HOST.receiver(state.root.path)
    if receiver is None:
        return None
    arguments = configuration_arguments(config)
    if spec.compute_name and config.compute_type == "AKS":  # the target object's, or the same
        arguments["compute_target_name"] = spec.compute_name
    with v1_errors():
        receiver.request(
            "deploy",
            {
                "workspace": state.id,
                "name": name,
                "image": image.image_id,
                "computeType": config.compute_type,
                "configuration": arguments,
                "overwrite": bool(overwrite),
            },
        )
    if spec.tls is not None:
        spec.tls.publish()
    record = state.services.get(name)
    if record is None:  # deleted by someone else between the daemon's answer and this read
        raise WebserviceException(
            f"WebserviceNotFound: Webservice with name {name} not found in provided workspace. "
            "[emulator] The emulator daemon deployed it, but it was deleted meanwhile."
        )
    return record


def on_daemon(
    workspace: Workspace, record: ServiceRecord, operation: str, **body: Any
) -> dict[str, Any] | None:
    """Have the daemon that hosts ``record`` carry out ``operation`` (``update``, ``reload``,
    ``logs``, ``sync``); its answer, or ``None`` when this process hosts the service itself
    (or is attached to no daemon), for the caller to act here as before."""
    if record.owner_pid == os.getpid() or stored_arguments(record) is None:
        return None
    state = workspace.emulator_state
    receiver = HOST.receiver(state.root.path)
    if receiver is None:
        return None
    with v1_errors():
        return receiver.request(operation, {"workspace": state.id, "name": record.name, **body})


def configuration_arguments(config: WebserviceDeploymentConfiguration) -> dict[str, Any]:
    """The arguments ``config`` was made with (those left ``None`` omitted), as JSON values."""
    parameters = inspect.signature(type(config).__init__).parameters
    arguments = {
        name: getattr(config, name)
        for name in parameters
        if name != "self" and getattr(config, name, None) is not None
    }
    try:
        json.dumps(arguments)
    except (TypeError, ValueError) as exc:
        raise WebserviceException(
            f"Error, the deployment configuration cannot be sent to the emulator daemon: {exc}. "
            "[emulator] Give tags, properties and other values as strings, numbers and "
            "booleans, or stop the daemon (`amlemu down`) to host the service in this process."
        ) from exc
    return arguments


def daemon_spec(
    workspace: Workspace, compute_type: str, arguments: dict[str, Any]
) -> DeploymentSpec:
    """The service a daemon runs for ``arguments``: the configuration rebuilt and translated
    as the deploying script would have, its arguments kept in the settings for a restart."""
    from emulator.sdk.webservice.base import Webservice

    configuration = _CONFIGURATIONS.get(compute_type)
    webservice_type = Webservice._subclasses.get(compute_type)
    if configuration is None or webservice_type is None:
        raise BadArgument(
            f"Unknown compute type {compute_type!r} for a v1 web service. [emulator] The daemon "
            f"hosts {', '.join(_CONFIGURATIONS)} services."
        )
    if not isinstance(arguments, dict):
        raise BadArgument("The deployment configuration must be a JSON object of its arguments.")
    try:
        config = configuration(**arguments)
    except TypeError as exc:
        raise BadArgument(f"Invalid {compute_type} deployment configuration: {exc}.") from exc
    config.validate_configuration()
    spec = webservice_type._spec(workspace, config, None)
    return replace(
        spec, settings={**spec.settings, DAEMON_SETTING: {"configuration": dict(arguments)}}
    )


def stored_arguments(record: ServiceRecord) -> dict[str, Any] | None:
    """The configuration arguments a daemon-hosted service was deployed with (``None``: the
    service was hosted by the process that deployed it)."""
    stored = record.settings.get(DAEMON_SETTING)
    if not isinstance(stored, dict) or not isinstance(stored.get("configuration"), dict):
        return None
    return dict(stored["configuration"])
