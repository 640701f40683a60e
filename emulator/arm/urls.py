"""The ARM face's route table: path patterns → handlers per method (moto's ``url_paths``).

Paths match case-insensitively, as ARM's do (``resourceGroups`` and ``resourcegroups`` are the
same), with an optional trailing slash. Routes marked ``authenticated=False`` are the ones a
client reaches before it has a token: the cloud metadata and the managed-identity endpoint.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from emulator.arm import (
    aml_compute_responses,
    asset_responses,
    batch_responses,
    component_responses,
    compute_location_responses,
    compute_responses,
    data_responses,
    deployment_responses,
    endpoint_responses,
    job_list_responses,
    job_log_responses,
    job_responses,
    model_container_responses,
    pipeline_job_responses,
    responses,
    version_responses,
)
from emulator.arm.exceptions import PROVIDER

Handler = Callable[..., Any]

METADATA_PATH = "/metadata/endpoints"
IDENTITY_PATH = "/msi/token"

_SUB = r"/subscriptions/(?P<subscription>[^/]+)"
_RG = _SUB + r"/resourceGroups/(?P<resource_group>[^/]+)"
_PROVIDER = "/providers/" + re.escape(PROVIDER)
_WORKSPACE = _RG + _PROVIDER + r"/workspaces/(?P<workspace>[^/]+)"
_DATASTORE = _WORKSPACE + r"/datastores/(?P<datastore>[^/]+)"
_MODEL = _WORKSPACE + r"/models/(?P<name>[^/]+)"
_VERSIONED = _WORKSPACE + r"/(?P<kind>environments|codes)/(?P<name>[^/]+)"
_ENDPOINT = _WORKSPACE + r"/onlineEndpoints/(?P<endpoint>[^/]+)"
_DEPLOYMENT = _ENDPOINT + r"/deployments/(?P<deployment>[^/]+)"
_COMPUTE = _WORKSPACE + r"/computes/(?P<compute>[^/]+)"
_LOCATION = _SUB + _PROVIDER + r"/locations/(?P<location>[^/]+)"
_BATCH_ENDPOINT = _WORKSPACE + r"/batchEndpoints/(?P<endpoint>[^/]+)"
_BATCH_DEPLOYMENT = _BATCH_ENDPOINT + r"/deployments/(?P<deployment>[^/]+)"
_DATA = _WORKSPACE + r"/data/(?P<name>[^/]+)"
_JOB = _WORKSPACE + r"/jobs/(?P<name>[^/]+)"
_COMPONENT = _WORKSPACE + r"/components/(?P<name>[^/]+)"
#: The workspace API host's batch job listing (azure-ai-ml's list_jobs; an ml.azure.com token).
_MFE = "/mferp/managementfrontend"
_HISTORY = "/history/v1.0" + _WORKSPACE


@dataclass(frozen=True)
class Route:
    """One path pattern and its handler per HTTP method; ``scoped``: the path names a workspace
    and its handlers take a :class:`~emulator.arm.responses.WorkspaceRequest` for it."""

    pattern: re.Pattern[str]
    methods: Mapping[str, Handler]
    authenticated: bool = True
    scoped: bool = False


def _route(path: str, methods: Mapping[str, Handler], authenticated: bool = True) -> Route:
    return Route(re.compile(path + "/?", re.IGNORECASE), methods, authenticated)


def _scoped(path: str, methods: Mapping[str, Handler], authenticated: bool = True) -> Route:
    """A route below a workspace whose handlers take a ``WorkspaceRequest``."""
    return Route(re.compile(path + "/?", re.IGNORECASE), methods, authenticated, scoped=True)


ROUTES: tuple[Route, ...] = (
    _route(re.escape(METADATA_PATH), {"GET": responses.cloud_metadata}, authenticated=False),
    _route(re.escape(IDENTITY_PATH), {"GET": responses.managed_identity_token}, False),
    _route(_SUB + _PROVIDER + "/workspaces", {"GET": responses.list_workspaces}),
    _route(_RG + _PROVIDER + "/workspaces", {"GET": responses.list_workspaces}),
    _scoped(_WORKSPACE, {"GET": responses.get_workspace}),
    _scoped(_WORKSPACE + "/datastores", {"GET": asset_responses.list_datastores}),
    _scoped(_DATASTORE, {"GET": asset_responses.get_datastore}),
    _scoped(_DATASTORE + "/listSecrets", {"POST": asset_responses.list_datastore_secrets}),
    _scoped(_WORKSPACE + "/models", {"GET": model_container_responses.list_models}),
    _scoped(
        _MODEL,
        {
            "GET": model_container_responses.get_model_container,
            "PUT": model_container_responses.put_model_container,
        },
    ),
    _scoped(_MODEL + "/versions", {"GET": asset_responses.list_model_versions}),
    _scoped(
        _MODEL + r"/versions/(?P<version>[^/]+)",
        {"GET": asset_responses.get_model_version, "PUT": asset_responses.put_model_version},
    ),
    _scoped(_WORKSPACE + "/environments", {"GET": version_responses.list_environments}),
    _scoped(
        _VERSIONED,
        {"GET": version_responses.get_container, "PUT": version_responses.put_container},
    ),
    _scoped(_VERSIONED + "/versions", {"GET": version_responses.list_versions}),
    _scoped(
        _VERSIONED + r"/versions/(?P<version>[^/]+)",
        {"GET": version_responses.get_version, "PUT": version_responses.put_version},
    ),
    _scoped(
        _WORKSPACE + r"/codes/(?P<name>[^/]+)/versions/(?P<version>[^/]+)/startPendingUpload",
        {"POST": version_responses.start_pending_upload},
    ),
    _scoped(_WORKSPACE + "/onlineEndpoints", {"GET": endpoint_responses.list_endpoints}),
    _scoped(
        _ENDPOINT,
        {
            "GET": endpoint_responses.get_endpoint,
            "PUT": endpoint_responses.put_endpoint,
            "DELETE": endpoint_responses.delete_endpoint,
        },
    ),
    _scoped(_ENDPOINT + "/listKeys", {"POST": endpoint_responses.list_keys}),
    _scoped(_ENDPOINT + "/regenerateKeys", {"POST": endpoint_responses.regenerate_keys}),
    _scoped(_ENDPOINT + "/token", {"POST": endpoint_responses.get_token}),
    _scoped(_ENDPOINT + "/deployments", {"GET": deployment_responses.list_deployments}),
    _scoped(
        _DEPLOYMENT,
        {
            "GET": deployment_responses.get_deployment,
            "PUT": deployment_responses.put_deployment,
            "DELETE": deployment_responses.delete_deployment,
        },
    ),
    _scoped(_DEPLOYMENT + "/getLogs", {"POST": deployment_responses.get_logs}),
    _scoped(_DEPLOYMENT + "/operationStatus", {"GET": deployment_responses.operation_status}),
    _scoped(_WORKSPACE + "/computes", {"GET": compute_responses.list_computes}),
    _scoped(
        _COMPUTE,
        {
            "GET": compute_responses.get_compute,
            "PUT": compute_responses.put_compute,
            "DELETE": compute_responses.delete_compute,
        },
    ),
    _scoped(_COMPUTE + "/listNodes", {"POST": aml_compute_responses.list_nodes}),
    _route(_LOCATION + "/vmSizes", {"GET": compute_location_responses.list_vm_sizes}),
    _route(_LOCATION + "/usages", {"GET": compute_location_responses.list_usages}),
    _scoped(_WORKSPACE + "/batchEndpoints", {"GET": batch_responses.list_endpoints}),
    _scoped(
        _BATCH_ENDPOINT,
        {
            "GET": batch_responses.get_endpoint,
            "PUT": batch_responses.put_endpoint,
            "DELETE": batch_responses.delete_endpoint,
        },
    ),
    _scoped(_BATCH_ENDPOINT + "/deployments", {"GET": batch_responses.list_deployments}),
    _scoped(
        _BATCH_DEPLOYMENT,
        {
            "GET": batch_responses.get_deployment,
            "PUT": batch_responses.put_deployment,
            "DELETE": batch_responses.delete_deployment,
        },
    ),
    _scoped(_BATCH_DEPLOYMENT + "/operationStatus", {"GET": batch_responses.operation_status}),
    # Batch jobs: invoke and the listing take Microsoft Entra tokens for https://ml.azure.com,
    # checked by their handlers (no api-version on invoke); the discovery document is public.
    _scoped(job_responses.JOBS_PATH, {"POST": job_responses.invoke}, authenticated=False),
    _route("/discovery", {"GET": job_responses.discovery}, authenticated=False),
    _scoped(_MFE + _BATCH_ENDPOINT + "/jobs", {"GET": job_responses.list_jobs}, False),
    _scoped(_MFE + _BATCH_DEPLOYMENT + "/jobs", {"GET": job_responses.list_jobs}, False),
    _scoped(_WORKSPACE + "/jobs", {"GET": job_list_responses.list_jobs}),
    _scoped(_JOB, {"GET": job_responses.get_job}),
    _scoped(_JOB + "/cancel", {"POST": job_responses.cancel_job}),
    _scoped(_HISTORY + r"/runs/(?P<run>[^/]+)", {"GET": job_responses.get_run}),
    _scoped(_HISTORY + r"/runs/(?P<run>[^/]+)/children", {"GET": job_responses.run_children}),
    _scoped(_HISTORY + "/rundata", {"POST": job_responses.run_data}),
    _scoped(_HISTORY + r"/runs/(?P<run>[^/]+)/details", {"GET": job_log_responses.run_details}),
    _scoped(
        "/data/v1.0" + _WORKSPACE + "/dataversion/batchGetResolvedUris",
        {"POST": pipeline_job_responses.resolve_uris},
    ),
    _scoped(_WORKSPACE + "/components", {"GET": component_responses.list_containers}),
    _scoped(_COMPONENT, {"GET": component_responses.get_container}),
    _scoped(_COMPONENT + "/versions", {"GET": component_responses.list_versions}),
    _scoped(
        _COMPONENT + r"/versions/(?P<version>[^/]+)",
        {"GET": component_responses.get_version, "PUT": component_responses.put_version},
    ),
    _scoped(_WORKSPACE + "/data", {"GET": data_responses.list_data}),
    _scoped(
        _DATA,
        {"GET": data_responses.get_data_container, "PUT": data_responses.put_data_container},
    ),
    _scoped(_DATA + "/versions", {"GET": data_responses.list_data_versions}),
    _scoped(
        _DATA + r"/versions/(?P<version>[^/]+)",
        {"GET": data_responses.get_data_version, "PUT": data_responses.put_data_version},
    ),
)


def match(path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for ``path`` and its parameters, or None when no route knows it."""
    for route in ROUTES:
        found = route.pattern.fullmatch(path)
        if found:
            return route, found.groupdict()
    return None
