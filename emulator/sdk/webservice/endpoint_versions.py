"""The state behind ``AksEndpoint``: its record, its versions' records, and the cluster router's
split that serves its scoring URI (see :mod:`emulator.sdk.webservice.aks_endpoint`).

A version's record is ``<endpoint>.<version>``, an AKS service with ``endpointName``,
``versionName``, ``trafficPercentile``, ``isDefault`` and ``type`` in its settings; the endpoint's
record lists its versions in order (``versions``) and has no replicas. Its state follows its
versions: ``Failed`` when one failed, ``Healthy`` when all are, ``Transitioning`` otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from emulator.sdk.exceptions import WebserviceException
from emulator.sdk.webservice.rollout import (
    CONTROL,
    TREATMENT,
    VersionTraffic,
    check_default,
    check_total,
    default_version,
    shares,
)
from emulator.sdk.webservice_config.aks import AksServiceDeploymentConfiguration, AksSettings
from emulator.services.auth import generate_key
from emulator.services.hosting import HOST
from emulator.services.manager import ServiceManager
from emulator.services.records import ServiceRecord, ServiceState
from emulator.services.route import ServiceRoute
from emulator.services.split import SplitRoute
from emulator.settings import token_lifetime_seconds

if TYPE_CHECKING:
    from emulator.images.records import ImageRecord
    from emulator.sdk.webservice.aks import AksWebservice
    from emulator.sdk.webservice.aks_endpoint import AksEndpoint
    from emulator.sdk.workspace import Workspace

ENDPOINT = "endpointName"
VERSION = "versionName"
NO_TOKEN_AUTH = (
    "[emulator] Token auth on an AksEndpoint is not emulated: its versions check the endpoint's "
    "keys. Use key auth (auth_enabled=True, the default) or none (auth_enabled=False)."
)
_FAILED = (ServiceState.FAILED, ServiceState.UNSCHEDULABLE, ServiceState.UNHEALTHY)


def internal_name(endpoint: str, version: str) -> str:
    """The record name of ``version`` of ``endpoint`` (no user service name has a dot)."""
    return f"{endpoint}.{version}"


def is_version(record: ServiceRecord) -> bool:
    """Whether ``record`` is a version of an endpoint (listed under it, not on its own)."""
    return bool(record.settings.get(ENDPOINT))


# -- the endpoint ----------------------------------------------------------------------------------


def create_endpoint(
    manager: ServiceManager, name: str, compute_name: str, settings: AksSettings
) -> ServiceRecord:
    """The endpoint's record, its scoring URI on the cluster's router (no versions yet)."""
    mode = "key" if settings.auth_enabled else "off"
    record = manager.registry.create(
        name,
        "AKSENDPOINT",
        image_id=None,
        model_ids=[],
        settings={
            "authMode": mode,
            "tokenLifetimeSeconds": token_lifetime_seconds(),
            "computeName": compute_name,
            "appInsightsEnabled": settings.enable_app_insights,
            "namespace": settings.namespace,
            "versions": [],
        },
        compute_name=compute_name,
        description=settings.description,
        tags=dict(settings.tags),
        properties=dict(settings.properties),
        primary_key=settings.primary_key or generate_key(),
        secondary_key=settings.secondary_key or generate_key(),
        token_secret=generate_key(),
    )
    HOST.hosts_in(manager.root.path)
    gateway = HOST.cluster_gateway(manager.root.path, manager.workspace_id, compute_name)
    return manager.registry.update(record, scoring_uri=gateway.scoring_uri(name), port=gateway.port)


def update_endpoint(
    manager: ServiceManager,
    record: ServiceRecord,
    *,
    auth_enabled: bool | None,
    enable_app_insights: bool | None,
    description: str | None,
    tags: dict[str, str] | None,
    properties: dict[str, str] | None,
) -> ServiceRecord:
    """The SDK's endpoint patch: auth (each version's router takes it at once), flags, tags,
    description replaced, properties added."""
    settings = dict(record.settings)
    fields: dict[str, Any] = {}
    if auth_enabled is not None:
        settings["authMode"] = "key" if auth_enabled else "off"
    if enable_app_insights is not None:
        settings["appInsightsEnabled"] = enable_app_insights
    if description is not None:
        fields["description"] = description
    if tags is not None:
        fields["tags"] = dict(tags)
    if properties is not None:
        fields["properties"] = {**record.properties, **properties}
    record = manager.registry.update(record, settings=settings, **fields)
    if auth_enabled is not None:
        for version in version_records(manager, record).values():
            version = manager.registry.update(
                version,
                settings={
                    **version.settings,
                    "authMode": settings["authMode"],
                    "authEnabled": auth_enabled,
                },
            )
            deployment = manager.deployment(version.name)
            if deployment is not None and deployment.route is not None:
                deployment.auth = deployment.route.auth = manager.auth(version)
    return record


def share_keys(manager: ServiceManager, record: ServiceRecord) -> None:
    """Give every version the endpoint's current keys (after ``regen_key``)."""
    record = manager.registry.get(record.name) or record
    for version in version_records(manager, record).values():
        version = manager.regen_key(version, "Primary", record.primary_key)
        manager.regen_key(version, "Secondary", record.secondary_key)


def delete_service(manager: ServiceManager, record: ServiceRecord) -> None:
    """Delete ``record``: an endpoint with its versions and its route, or a plain service."""
    if record.compute_type != "AKSENDPOINT":
        manager.delete(record)
        return
    for version in version_records(manager, record).values():
        manager.delete(version)
    if record.compute_name:
        gateway = HOST.cluster_gateway(manager.root.path, manager.workspace_id, record.compute_name)
        gateway.remove_service(record.name)
    manager.registry.delete(record)


def settle_state(
    manager: ServiceManager, record: ServiceRecord, versions: Mapping[str, ServiceRecord]
) -> ServiceRecord:
    """The endpoint's record with the state its versions add up to."""
    if not versions:
        return record
    states = [version.state for version in versions.values()]
    failed = next((v for v in versions.values() if v.state in _FAILED), None)
    if failed is not None:
        state, error = ServiceState.FAILED, failed.error
    elif all(state is ServiceState.HEALTHY for state in states):
        state, error = ServiceState.HEALTHY, None
    else:
        state, error = ServiceState.TRANSITIONING, None
    if state is record.state and error == record.error:
        return record
    try:
        return manager.registry.update(record, state=state, error=error)
    except LookupError:  # deleted meanwhile
        return record


def sync_route(
    manager: ServiceManager, record: ServiceRecord, versions: Mapping[str, ServiceRecord]
) -> None:
    """Make the cluster router's split for the endpoint follow its versions' shares."""
    if not record.compute_name or record.owner_pid != os.getpid():
        return  # the split lives in the process hosting the versions
    gateway = HOST.cluster_gateway(manager.root.path, manager.workspace_id, record.compute_name)
    route = gateway.services.get(record.name)
    if not isinstance(route, SplitRoute):

        def lookup(name: str) -> ServiceRoute | None:
            try:
                return gateway.service(name)
            except KeyError:
                return None

        route = SplitRoute(record.name, lookup)
        gateway.add_route(record.name, route)
    traffic = {name: traffic_of_record(version) for name, version in versions.items()}
    weights = {internal_name(record.name, name): w for name, w in shares(traffic).items()}
    fallback = default_version(traffic)
    route.set_shares(weights, internal_name(record.name, fallback) if fallback else None)


# -- versions --------------------------------------------------------------------------------------


def version_records(manager: ServiceManager, record: ServiceRecord) -> dict[str, ServiceRecord]:
    """The endpoint's versions by name, in creation order, their states brought up to date."""
    found = {}
    for name in record.settings.get("versions", []):
        version = manager.get(internal_name(record.name, name))
        if version is not None:
            found[name] = version
    return found


def traffic_of_record(record: ServiceRecord) -> VersionTraffic:
    s = record.settings
    return VersionTraffic(
        s.get("trafficPercentile"), bool(s.get("isDefault")), s.get("type") or TREATMENT
    )


def traffic_of(versions: Mapping[str, AksWebservice]) -> dict[str, VersionTraffic]:
    return {name: traffic_of_record(v.emulator_record) for name, v in versions.items()}


def with_roles(
    traffic: Mapping[str, VersionTraffic],
    version: str,
    is_default: bool | None,
    is_control: bool | None,
) -> dict[str, VersionTraffic]:
    """The SDK's switching: a new default turns the others' ``isDefault`` off, a new control
    makes the others treatments; ``False`` changes only ``version`` itself."""
    changed = {}
    for name, current in traffic.items():
        mine = name == version
        default = current.is_default
        if is_default is not None and (mine or is_default):
            default = is_default if mine else False
        kind = current.version_type
        if is_control is not None and (mine or is_control):
            kind = (CONTROL if is_control else TREATMENT) if mine else TREATMENT
        changed[name] = VersionTraffic(current.traffic_percentile, default, kind)
    return changed


def changed(
    traffic: Mapping[str, VersionTraffic], version: str, percentile: float | None
) -> dict[str, VersionTraffic]:
    """``traffic`` with ``version``'s percentile replaced (``None``: kept)."""
    result = dict(traffic)
    if percentile is not None:
        result[version] = replace(result[version], traffic_percentile=percentile)
    return result


def check_traffic(endpoint: str, traffic: Mapping[str, VersionTraffic]) -> None:
    check_total(endpoint, traffic)
    check_default(endpoint, traffic)


def apply_traffic(
    manager: ServiceManager, record: ServiceRecord, traffic: Mapping[str, VersionTraffic]
) -> None:
    """Write every version's share and role, then route by them."""
    for name, version in version_records(manager, record).items():
        wanted = traffic.get(name)
        if wanted is not None:
            own = {ENDPOINT: record.name, VERSION: name, **_fields(wanted)}
            manager.registry.update(version, settings={**version.settings, **own})
    record = manager.registry.get(record.name) or record
    sync_route(manager, record, version_records(manager, record))


def version_named(endpoint: AksEndpoint, name: str) -> AksWebservice:
    version = endpoint.versions.get(name)
    if version is None:
        raise WebserviceException(
            f"Version {name} not found in endpoint {endpoint.name}. Its versions: "
            f"{', '.join(endpoint.versions) or 'none'}.",
            status_code=404,
        )
    return version


def version_configuration(
    record: ServiceRecord, **settings: Any
) -> AksServiceDeploymentConfiguration:
    """A version's AKS configuration on the endpoint's cluster, with the endpoint's auth."""
    return AksServiceDeploymentConfiguration(
        auth_enabled=record.settings.get("authMode") == "key",
        compute_target_name=record.compute_name,
        **settings,
    )


def package(
    workspace: Workspace, version: str, models: Sequence[Any], inference_config: Any
) -> ImageRecord:
    """The version's image: ``models`` packaged with ``inference_config`` (no-code without)."""
    from emulator.sdk.package import package_models
    from emulator.sdk.webservice.nocode import no_code_inference_config

    if inference_config is None:
        inference_config = no_code_inference_config(workspace, models)
    return package_models(workspace, models, inference_config, image_name=version)._record


def deploy_version(
    workspace: Workspace,
    endpoint: ServiceRecord,
    version: str,
    image: ImageRecord,
    config: AksServiceDeploymentConfiguration,
    traffic: VersionTraffic,
) -> ServiceRecord:
    """Start the version's replicas behind the endpoint (its record joins the endpoint's)."""
    from emulator.sdk.webservice.aks import AksWebservice
    from emulator.sdk.webservice.base import services

    manager = services(workspace)
    spec = AksWebservice._spec(workspace, config, SimpleNamespace(name=endpoint.compute_name))
    spec = replace(
        spec,
        auth_mode=str(endpoint.settings.get("authMode", "off")),
        primary_key=endpoint.primary_key,
        secondary_key=endpoint.secondary_key,
        settings={**spec.settings, ENDPOINT: endpoint.name, VERSION: version, **_fields(traffic)},
    )
    created = manager.deploy(internal_name(endpoint.name, version), spec, image)
    current = manager.registry.get(endpoint.name) or endpoint
    names = [*current.settings.get("versions", []), version]
    current = manager.registry.update(current, settings={**current.settings, "versions": names})
    sync_route(manager, current, version_records(manager, current))
    return created


def roll(
    workspace: Workspace,
    version: AksWebservice,
    models: Sequence[Any] | None,
    inference_config: Any,
    settings: Mapping[str, Any],
) -> None:
    """A rolling update of ``version``'s replicas (new settings, or a new model / script)."""
    from emulator.sdk.webservice.aks import AksWebservice
    from emulator.sdk.webservice.base import Webservice
    from emulator.sdk.webservice.nocode import no_code_inference_config

    if inference_config is not None and models is None:
        models = version.models
    elif models is not None and inference_config is None:
        inference_config = no_code_inference_config(workspace, models)
    # A fresh object under the record's own name (the endpoint shows the version's name).
    target = Webservice._from_record(workspace, version.emulator_record)
    assert isinstance(target, AksWebservice)
    target.update(
        models=models,
        inference_config=inference_config,
        **{key: value for key, value in settings.items() if value is not None},
    )


def remove_version(
    manager: ServiceManager, endpoint: ServiceRecord, version: ServiceRecord
) -> None:
    names = [n for n in endpoint.settings.get("versions", []) if n != version.settings.get(VERSION)]
    endpoint = manager.registry.update(endpoint, settings={**endpoint.settings, "versions": names})
    manager.delete(version)
    sync_route(manager, endpoint, version_records(manager, endpoint))


def _fields(traffic: VersionTraffic) -> dict[str, Any]:
    return {
        "trafficPercentile": traffic.traffic_percentile,
        "isDefault": traffic.is_default,
        "type": traffic.version_type,
    }
