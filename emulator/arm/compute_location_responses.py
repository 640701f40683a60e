"""The ARM face of a location's compute catalog: ``ml_client.compute.list_sizes()`` and
``list_usage()``.

azure-ai-ml 1.35.2 reads the workspace's location (GET of the workspace), then GETs
``/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/locations/{location}/vmSizes``
or ``.../usages`` (measured; research file ``sdk-v2-wire.md``). The sizes are the emulator's
table (:mod:`emulator.compute.vm_sizes`) offered in that location; the usages are the
subscription's dedicated vCPUs in clusters (SDK v1 AKS clusters and AmlCompute clusters of every
workspace) against the one regional core quota the emulator has
(``AZUREML_EMULATOR_CORE_QUOTA``), per VM family and in total, as Azure lists them.
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.wrappers import Request

from emulator.arm.exceptions import PROVIDER
from emulator.arm.responses import ArmContext
from emulator.compute.aml_clusters import AML_COMPUTE, DEDICATED, AmlClusters
from emulator.compute.records import ProvisioningState
from emulator.compute.vm_sizes import VM_SIZES, VmSize, find_vm_size
from emulator.settings import core_quota
from emulator.state import workspace_states

#: ``Standard_DS3_v2`` → letters ``DS``, suffix letters (``s``: premium storage), version 2.
_SIZE_NAME = re.compile(r"Standard_([A-Z]+)\d+([a-z]*)(?:_v(\d+))?")
_TOTAL = "Total Cluster Dedicated Regional vCPUs"
#: v1 clusters whose nodes exist (a failed one holds none).
_HOLDING = (ProvisioningState.CREATING, ProvisioningState.SUCCEEDED, ProvisioningState.DELETING)


def vm_family(size: VmSize) -> str:
    """Azure's family of a size, as quotas name it: ``Standard_DS3_v2`` → ``standardDSv2Family``,
    ``Standard_NC6s_v3`` → ``standardNCSv3Family``, ``Standard_B2ms`` → ``standardBSFamily``."""
    found = _SIZE_NAME.fullmatch(size.name)
    if found is None:
        return "standardFamily"
    letters, suffix, version = found.groups()
    if "s" in suffix and not letters.endswith("S"):
        letters += "S"
    return f"standard{letters}{f'v{version}' if version else ''}Family"


def _premium_io(size: VmSize) -> bool:
    found = _SIZE_NAME.fullmatch(size.name)
    return found is not None and ("S" in found[1][1:] or "s" in found[2])


def _size_body(size: VmSize) -> dict[str, Any]:
    return {
        "name": size.name,
        "family": vm_family(size),
        "vCPUs": size.cores,
        "gpus": size.gpus,
        "osVhdSizeMB": None,
        "maxResourceVolumeMB": None,
        "memoryGB": size.memory_gb,
        "lowPriorityCapable": size.supports_aml_compute,
        "premiumIO": _premium_io(size),
        "estimatedVMPrices": None,
        "supportedComputeTypes": (
            [AML_COMPUTE, "ComputeInstance", "AKS", "Kubernetes"]
            if size.supports_aml_compute
            else ["AKS"]
        ),
    }


def list_vm_sizes(ctx: ArmContext, request: Request, subscription: str, location: str) -> Any:
    """The VM sizes the emulator knows that ``location`` offers."""
    sizes = [s for s in VM_SIZES.values() if s.offered_in(location)]
    return {"value": [_size_body(s) for s in sorted(sizes, key=lambda s: s.name.casefold())]}


def list_usages(ctx: ArmContext, request: Request, subscription: str, location: str) -> Any:
    """The subscription's dedicated vCPUs in clusters of ``location``: one entry per VM family
    in use, then the regional total, each against the core quota."""
    by_family: dict[str, int] = {}
    for state in workspace_states(ctx.root).all():
        ws = state.record
        if ws.subscription_id.casefold() != subscription.casefold():
            continue
        if ws.location.casefold() != location.casefold():
            continue
        for cluster in AmlClusters(ctx.root, ws).list():
            size = find_vm_size(cluster.vm_size)
            if size is not None and cluster.vm_priority == DEDICATED:
                family = vm_family(size)
                by_family[family] = by_family.get(family, 0) + cluster.dedicated_cores
        for record in state.compute.records():
            if record.state not in _HOLDING:
                continue
            family = vm_family(record.size)
            by_family[family] = by_family.get(family, 0) + record.cores
    quota = core_quota()
    base = f"/subscriptions/{subscription}/providers/{PROVIDER}/locations/{location}"

    def usage(kind: str, name: str, localized: str, value: int) -> dict[str, Any]:
        return {
            "id": f"{base}/{kind}/{name}/usages",
            "amlWorkspaceLocation": location,
            "type": f"{PROVIDER}/{kind}/usages",
            "unit": "Count",
            "currentValue": value,
            "limit": quota,
            "name": {"value": name, "localizedValue": localized},
        }

    entries = [
        usage("vmFamily", family, _localized(family), cores)
        for family, cores in sorted(by_family.items())
    ]
    entries.append(usage("totalCores", _TOTAL, _TOTAL, sum(by_family.values())))
    return {"value": entries}


def _localized(family: str) -> str:
    """``standardDSv2Family`` → ``Standard DSv2 Family Cluster Dedicated vCPUs``."""
    middle = family.removeprefix("standard").removesuffix("Family")
    return f"Standard {middle} Family Cluster Dedicated vCPUs"
