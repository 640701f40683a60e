"""Replicas of SDK v2 online deployments: an image's replicas behind a gateway of their own.

A v2 deployment has no v1 service record (it must not show in ``Webservice.list``), so it does
not go through :class:`~emulator.services.manager.ServiceManager`: this module starts the same
:class:`Deployment` (replicas as runtime containers, with their lifeline to this process) on
an ACI-style gateway, registers it with :data:`HOST` under a key no v1 service name can take
(``v2:<endpoint>:<deployment>``), and stops it on delete. The endpoint's scoring URI checks the
endpoint's key, then forwards to the gateway, which therefore needs no auth of its own. An
update goes through :meth:`Deployment.replace` on the same gateway (new replicas ready before
the old ones stop), so the gateway's address outlives every version. Its faults (``amlemu
faults inject --endpoint --deployment``, :func:`emulator.faults.online_deployment_faults`) act
on its replicas and gateway as a service's do.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from emulator.images.records import ImageRecord
from emulator.runtime.probes import ProbeSettings
from emulator.services.auth import ServiceAuth
from emulator.services.deployment import Deployment, ReplicaTemplate
from emulator.services.gateway import Gateway
from emulator.services.hosting import HOST
from emulator.services.injection.hosting import HostedFaults
from emulator.services.settings import ServiceSettings


def host_key(endpoint: str, deployment: str) -> str:
    """The :data:`HOST` name of a v2 deployment (':' never occurs in v1 service names)."""
    return f"v2:{endpoint.lower()}:{deployment.lower()}"


def replica_template(
    image: ImageRecord,
    environment: Mapping[str, str],
    cpu_cores: float | None,
    memory_gb: float | None,
    liveness: ProbeSettings,
    readiness: ProbeSettings | None = None,
) -> ReplicaTemplate:
    """Replicas of ``image``: run by Docker when Docker built it, else as processes."""
    return ReplicaTemplate(
        image_location=image.location or "",
        image_name=image.image_id,
        backend="docker" if image.builder == "docker" else "process",
        environment=dict(environment),
        cpu_cores=cpu_cores,
        memory_gb=memory_gb,
        liveness=liveness,
        readiness=readiness,
    )


def start_online(
    root: Path,
    workspace_id: int,
    endpoint: str,
    deployment: str,
    template: ReplicaTemplate,
    replicas: int,
    settings: ServiceSettings | None = None,
) -> Deployment:
    """Start ``replicas`` replicas of ``template`` behind a fresh gateway; returns at once
    (``Deployment.wait`` tells when ``init()`` finished or failed). A deployment of the same
    name hosted here is stopped first (use :meth:`Deployment.replace` to update one without
    downtime). ``settings`` default to ACI's: no front-end gate or timeout."""
    stop_online(root, workspace_id, endpoint, deployment)
    gateway = Gateway("aci")
    gateway.start()
    live = Deployment(
        host_key(endpoint, deployment),
        template,
        gateway,
        settings or ServiceSettings.aci(),
        ServiceAuth(),
        replicas,
        HostedFaults.for_online(root, workspace_id, endpoint, deployment),
    )
    try:
        live.start()
    except Exception:
        live.stop()
        gateway.stop()
        raise
    HOST.add(root, workspace_id, live)
    return live


def online(root: Path, workspace_id: int, endpoint: str, deployment: str) -> Deployment | None:
    """The live deployment, if this process hosts it."""
    return HOST.deployment(root, workspace_id, host_key(endpoint, deployment))


def stop_online(root: Path, workspace_id: int, endpoint: str, deployment: str) -> None:
    """Stop the deployment's replicas and its gateway (nothing when none runs here)."""
    HOST.remove(root, workspace_id, host_key(endpoint, deployment))
