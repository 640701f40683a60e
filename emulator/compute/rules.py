"""Azure's checks on a compute request, with the messages Azure answers them with.

Some checks are answered at once by the resource provider (HTTP 400, raised as a
``ComputeError`` with Azure's code, status and message, which the v1 face wraps in
``ComputeTargetException('Received bad response from Resource Provider: ...')``): the compute
name, the VM size, a production cluster's minimum vCPUs. Others only show when provisioning
ends: the core quota and a size not offered in the location make the cluster ``Failed`` with
an error in ``provisioning_errors``.
"""

from __future__ import annotations

import re

from emulator.compute.records import ClusterPurpose
from emulator.compute.vm_sizes import VM_SIZES, VmSize, find_vm_size
from emulator.exceptions import ComputeError

#: A FastProd cluster needs at least this many vCPUs (agent_count x cores of the VM size).
MIN_FAST_PROD_CORES = 12

_NAME = re.compile(r"^[a-zA-Z]([a-zA-Z0-9-]{0,14}[a-zA-Z0-9])$")


def rejected(code: str, message: str, status: int = 400) -> ComputeError:
    """The resource provider's ``status`` answer (``code``, ``message``) to a compute request."""
    return ComputeError(message, code=code, status=status)


def validate_compute_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise rejected(
            "BadArgument",
            "Compute name is invalid. It can include letters, digits and dashes. It must start "
            "with a letter, end with a letter or digit, and be between 2 and 16 characters in "
            f"length. [emulator] Got {name!r}.",
        )


def resolve_vm_size(name: str) -> VmSize:
    """The VM size called ``name``; an unknown size is rejected at once."""
    size = find_vm_size(name)
    if size is None:
        known = ", ".join(sorted(VM_SIZES))
        raise rejected(
            "BadArgument",
            f"The VM size '{name}' is not supported. [emulator] The emulator knows these sizes: "
            f"{known}.",
        )
    return size


def check_cluster_size(size: VmSize, agent_count: int, purpose: str) -> None:
    """FastProd clusters need ``MIN_FAST_PROD_CORES`` vCPUs in total; DevTest ones do not, nor
    do FPGA ones: the accelerated-models quickstart provisions one ``Standard_PB6s`` agent
    (6 vCPUs) with the default purpose."""
    cores = agent_count * size.cores
    if purpose == ClusterPurpose.FAST_PROD.value and cores < MIN_FAST_PROD_CORES and not size.fpgas:
        raise rejected(
            "BadArgument",
            f"The cluster must have at least {MIN_FAST_PROD_CORES} virtual CPUs (agent count "
            "multiplied by the number of cores of the VM size) when the cluster purpose is "
            f"FastProd. Requested: {agent_count} x {size.name} ({size.cores} cores) = {cores} "
            "cores. [emulator] Add agents, pick a larger vm_size, or use cluster_purpose="
            "AksCompute.ClusterPurpose.DEV_TEST for a dev/test cluster.",
        )


def location_error(size: VmSize, location: str, subscription_id: str) -> dict[str, object] | None:
    """Azure's ``SkuNotAvailable`` failure when ``size`` is not offered in ``location``."""
    if size.offered_in(location):
        return None
    regions = ", ".join(size.regions or ())
    return {
        "code": "SkuNotAvailable",
        "message": (
            f"The requested size for resource '{size.name}' is currently not available in "
            f"location '{location}' zones '' for subscription '{subscription_id}'. Please try "
            "another size or deploy to a different location or zones. See "
            f"https://aka.ms/azureskunotavailable for details. [emulator] {size.name} is "
            f"offered in: {regions}."
        ),
    }


def quota_error(maximum: int, in_use: int, requested: int, quota_env: str) -> dict[str, object]:
    """Azure's core-quota failure (the seed notebook's "exceeding quota limits")."""
    return {
        "code": "QuotaExceeded",
        "message": (
            f"Operation results in exceeding quota limits of Core. Maximum allowed: {maximum}, "
            f"Current in use: {in_use}, Additional requested: {requested}. Please read more "
            "about quota increase at https://aka.ms/corequotaincrease. [emulator] The quota "
            f"comes from {quota_env}; delete clusters (compute_target.delete()) or request "
            "fewer cores (agent_count, vm_size)."
        ),
    }
