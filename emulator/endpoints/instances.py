"""What the instances of an online deployment get, read from the deployment's properties.

Azure runs each instance of a managed online deployment on a VM of its ``instance_type``; the
emulator looks the size up in the VM size table the AKS clusters use
(:mod:`emulator.compute.vm_sizes`) and gives each replica what Kubernetes leaves a pod on such
a node as its CPU and memory limits. ``instance_count`` (the ``sku`` capacity) replicas run
under ``scaleSettings`` ``Default``; ``TargetUtilization`` (Kubernetes deployments only, as in
Azure) runs between its minimum and maximum, never fewer than the instance count. The probes'
ISO 8601 timings become the runtime's :class:`~emulator.runtime.probes.ProbeSettings`
(Azure's defaults where one is not given); ``appInsightsEnabled`` sets what v1's
``enable_app_insights`` sets in the containers.

Quota: Azure documents that it reserves 20 % extra for upgrades, so a deployment needs
``ceil(1.2 * instances) * cores`` free vCPUs of the subscription's quota (the emulator's
``AZUREML_EMULATOR_CORE_QUOTA``, counted over the subscription's online deployments).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from emulator.compute.vm_sizes import VM_SIZES, VmSize, find_vm_size
from emulator.endpoints.deployments import DeploymentRecord, OnlineDeployments
from emulator.exceptions import BadArgument, OperationFailed
from emulator.runtime.probes import ProbeSettings
from emulator.server.telemetry import service_environment
from emulator.settings import CORE_QUOTA_ENV, core_quota
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceRecord, WorkspaceStore

#: Azure's probe defaults for online deployments (``azure.ai.ml.entities.ProbeSettings``).
LIVENESS_DEFAULT = ProbeSettings(
    period_seconds=10, initial_delay_seconds=10, timeout_seconds=2, failure_threshold=30
)
READINESS_DEFAULT = ProbeSettings(
    period_seconds=10, initial_delay_seconds=10, timeout_seconds=2, failure_threshold=3
)
#: Share of the instances Azure keeps in reserve for upgrades (documented: "20%").
UPGRADE_RESERVE = 1.2
_DURATION = re.compile(
    r"P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)
_HOLDING = ("Creating", "Updating", "Succeeded")


@dataclass(frozen=True)
class Autoscale:
    """``TargetUtilization`` scale settings."""

    min_instances: int
    max_instances: int
    target_percent: float
    polling_seconds: float


@dataclass(frozen=True)
class InstancePlan:
    """The replicas of one deployment: how many, how big, how probed."""

    #: The VM size of ``instance_type``; ``None`` for a Kubernetes deployment (its instance
    #: types are the attached cluster's).
    size: VmSize | None
    count: int
    autoscale: Autoscale | None
    liveness: ProbeSettings
    readiness: ProbeSettings
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def cpu_cores(self) -> float | None:
        """A replica's CPU limit: the node's allocatable vCPUs."""
        return None if self.size is None else self.size.allocatable_cores

    @property
    def memory_gb(self) -> float | None:
        """A replica's memory limit: the node's allocatable memory."""
        return None if self.size is None else self.size.allocatable_memory_gb

    @property
    def cores(self) -> int:
        """vCPUs the deployment holds of the quota (the upgrade reserve included)."""
        if self.size is None:
            return 0
        instances = self.autoscale.max_instances if self.autoscale else self.count
        return math.ceil(UPGRADE_RESERVE * instances) * self.size.cores


def plan(record: DeploymentRecord, workspace: WorkspaceRecord) -> InstancePlan:
    """The plan of ``record``; :class:`BadArgument` naming the field for what Azure refuses."""
    props = record.properties
    capacity = record.sku.get("capacity")
    count = 1 if capacity is None else _whole(capacity, "instance_count", minimum=1)
    environment = {str(k): str(v) for k, v in (props.get("environmentVariables") or {}).items()}
    if props.get("appInsightsEnabled") is True:
        environment = {**service_environment(workspace), **environment}
    return InstancePlan(
        size=_size(props),
        count=count,
        autoscale=_autoscale(props.get("scaleSettings"), count, _kubernetes(props)),
        liveness=_probe(props.get("livenessProbe"), LIVENESS_DEFAULT, "liveness_probe"),
        readiness=_probe(props.get("readinessProbe"), READINESS_DEFAULT, "readiness_probe"),
        environment=environment,
    )


def check_quota(
    root: EmulatorRoot, workspace: WorkspaceRecord, record: DeploymentRecord, wanted: InstancePlan
) -> None:
    """Refuse ``record`` as Azure does (``OutOfQuota``) when its cores and those the other
    online deployments of the subscription hold exceed the quota."""
    if wanted.size is None:
        return
    in_use = 0
    store = WorkspaceStore(root)
    for ws in store.all():
        if ws.subscription_id.casefold() != workspace.subscription_id.casefold():
            continue
        for other in OnlineDeployments(root, ws.id).all():
            same = ws.id == workspace.id and (
                other.endpoint.casefold(),
                other.name.casefold(),
            ) == (record.endpoint.casefold(), record.name.casefold())
            if other.state in _HOLDING and not same:
                try:
                    in_use += plan(other, ws).cores
                except BadArgument:
                    continue
    limit = core_quota()
    if in_use + wanted.cores > limit:
        raise OperationFailed(
            f"Not enough quota available for {wanted.size.name} in SubscriptionId "
            f"{workspace.subscription_id}. Current usage/limit: {in_use}/{limit}. Additional "
            f"needed: {wanted.cores} Please see troubleshooting guide, available here: "
            "https://aka.ms/oe-tsg#error-outofquota [emulator] The quota is "
            f"{CORE_QUOTA_ENV}; Azure reserves 20% more instances for upgrades "
            f"(ceil(1.2 x instances) x {wanted.size.cores} cores). Delete online deployments or "
            "ask for fewer or smaller instances (instance_count, instance_type).",
            code="OutOfQuota",
            status=400,
        )


def _kubernetes(props: dict[str, Any]) -> bool:
    return str(props.get("endpointComputeType") or "Managed").lower() == "kubernetes"


def _size(props: dict[str, Any]) -> VmSize | None:
    if _kubernetes(props):
        return None
    name = props.get("instanceType")
    if not name:
        raise BadArgument(
            "A managed online deployment needs an instance type. [emulator] Set instance_type, "
            "e.g. instance_type='Standard_DS3_v2'.",
            code="BadArgument",
        )
    size = find_vm_size(str(name))
    if size is None:
        known = ", ".join(sorted(VM_SIZES))
        raise BadArgument(
            f"The specified instance type '{name}' is not supported. Please see the list of "
            "supported SKUs: https://learn.microsoft.com/azure/machine-learning/"
            f"reference-managed-online-endpoints-vm-sku-list [emulator] Known sizes: {known}.",
            code="BadArgument",
        )
    return size


def _autoscale(settings: Any, count: int, kubernetes: bool) -> Autoscale | None:
    if not isinstance(settings, dict) or settings.get("scaleType") != "TargetUtilization":
        return None
    if not kubernetes:  # azure-ai-ml's own text: it refuses this before sending
        raise BadArgument(
            "ManagedOnlineEndpoint supports DefaultScaleSettings only. [emulator] "
            "TargetUtilization scale settings are for Kubernetes online deployments; a managed "
            "deployment scales through instance_count.",
            code="BadArgument",
        )
    low = max(count, _whole(settings.get("minInstances", 1), "scale_settings.min_instances", 1))
    high = _whole(settings.get("maxInstances", 1), "scale_settings.max_instances", 1)
    if high < low:
        raise BadArgument(
            f"scale_settings.max_instances ({high}) is below the instances the deployment must "
            f"keep ({low}: min_instances and instance_count). [emulator] Raise max_instances.",
            code="BadArgument",
        )
    target = settings.get("targetUtilizationPercentage", 70)
    polling = _seconds(settings.get("pollingInterval") or "PT1S", "scale_settings.polling_interval")
    return Autoscale(low, high, float(target), polling)


def _probe(value: Any, default: ProbeSettings, what: str) -> ProbeSettings:
    if not isinstance(value, dict):
        return default

    def timing(key: str, fallback: float) -> float:
        raw = value.get(key)
        return fallback if raw is None else _seconds(raw, f"{what}.{key}")

    try:
        return ProbeSettings(
            period_seconds=timing("period", default.period_seconds),
            initial_delay_seconds=timing("initialDelay", default.initial_delay_seconds),
            timeout_seconds=timing("timeout", default.timeout_seconds),
            success_threshold=_whole(
                value.get("successThreshold", default.success_threshold),
                f"{what}.success_threshold",
                1,
            ),
            failure_threshold=_whole(
                value.get("failureThreshold", default.failure_threshold),
                f"{what}.failure_threshold",
                1,
            ),
        )
    except ValueError as exc:
        raise BadArgument(f"{what}: {exc}", code="BadArgument") from None


def _seconds(raw: Any, what: str) -> float:
    found = _DURATION.fullmatch(str(raw)) if isinstance(raw, str) else None
    if found is None or not any(found.groups()):
        raise BadArgument(
            f"{what} {raw!r} is not an ISO 8601 duration (e.g. 'PT10S').", code="BadArgument"
        )
    d, h, m, s = (float(found[k] or 0) for k in "dhms")
    return ((d * 24 + h) * 60 + m) * 60 + s


def _whole(raw: Any, what: str, minimum: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < minimum:
        raise BadArgument(
            f"{what} must be a whole number of at least {minimum}, not {raw!r}.",
            code="BadArgument",
        )
    return raw
