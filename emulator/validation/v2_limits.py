"""What an SDK v2 online deployment grants a replica, named as its YAML names it.

Managed: the ``instance_type``'s vCPUs and memory (the emulator's VM size table). Kubernetes:
the deployment's own ``resources``, else its instance type's (a custom resource of the
attached cluster: ``limits`` when given, else ``requests``; Azure's ``defaultinstancetype``
when none is named). Both: ``request_settings.request_timeout_ms`` as the scoring timeout and
the liveness probe's ``initial_delay + period x failure_threshold`` as the start-up deadline.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from emulator.compute.kubernetes import DEFAULT_INSTANCE_TYPE, DEFAULT_INSTANCE_TYPE_SPEC
from emulator.compute.quantities import check_resources, parse_quantity
from emulator.compute.vm_sizes import VM_SIZES, find_vm_size
from emulator.exceptions import EmulatorError
from emulator.validation.limits import LimitNames, Limits
from emulator.validation.target import CannotValidate
from emulator.validation.v2_yaml import MAX_REQUEST_TIMEOUT_MS, OnlineDeploymentFile

GIB = 1024**3


def managed_limits(deployment: OnlineDeploymentFile) -> Limits:
    """The instance type's vCPUs and memory, ``request_timeout_ms``, the liveness probe."""
    given = deployment.instance_type or ""
    size = find_vm_size(given)
    if size is None:
        close = difflib.get_close_matches(given, list(VM_SIZES), n=3)
        raise CannotValidate(
            f"{deployment.path.name}: instance_type {given!r} is not a VM size the emulator "
            f"knows{' (did you mean ' + ', '.join(close) + '?)' if close else ''}. Use one of "
            f"{', '.join(VM_SIZES)}."
        )
    names = _names(
        deployment,
        cpu=f"the {{cpu:g}} vCPUs of {size.name}",
        memory=f"the memory of instance_type {size.name} ({{memory:g}} GB)",
        memory_fix="Choose an instance_type with more memory, or load less in init().",
        more_cpu="choose an instance_type with more vCPUs",
        timeout_cap=f" (at most {MAX_REQUEST_TIMEOUT_MS} on a managed endpoint)",
    )
    return _limits(deployment, "managed", float(size.cores), size.memory_gb, size.name, names)


def kubernetes_limits(
    deployment: OnlineDeploymentFile,
    instance_types: Mapping[str, Any] | None = None,
    default: str = DEFAULT_INSTANCE_TYPE,
) -> Limits:
    """Limits from the deployment's ``resources``, else from its instance type's definition
    (``instance_types``: the attached compute's, by name, ``default`` used when the deployment
    names none; ``None`` when the compute is not known, which only Azure's
    ``defaultinstancetype`` can do without)."""
    where = deployment.path.name
    resources: Mapping[str, Any]
    if deployment.resources is not None:
        resources, source = deployment.resources, "resources"
    else:
        name, resources = _instance_type(deployment, instance_types, default)
        source = f"instance type {name}"
    requests = resources.get("requests") or {}
    limits = resources.get("limits") or {}
    try:
        check_resources(f"{where}: {source}", requests, limits)
    except EmulatorError as exc:
        raise CannotValidate(exc.message) from None
    cpu = parse_quantity(limits.get("cpu") or requests.get("cpu") or "")
    memory = parse_quantity(limits.get("memory") or requests.get("memory") or "")
    owner = "the deployment's resources" if source == "resources" else f"the {source}"
    names = _names(
        deployment,
        cpu=f"the {{cpu:g}} CPU of {owner}",
        memory=f"the memory of {owner} ({{memory:g}} GB)",
        memory_fix=f"Raise the memory limit of {owner}, or load less in init().",
        more_cpu=f"raise the CPU of {owner}",
        timeout_cap="",
    )
    return _limits(
        deployment,
        "kubernetes",
        cpu,
        None if memory is None else round(memory / GIB, 3),
        deployment.instance_type or default,
        names,
    )


def _instance_type(
    deployment: OnlineDeploymentFile, instance_types: Mapping[str, Any] | None, default: str
) -> tuple[str, Mapping[str, Any]]:
    wanted = deployment.instance_type or default
    if instance_types is None:
        if wanted.casefold() == DEFAULT_INSTANCE_TYPE:
            return DEFAULT_INSTANCE_TYPE, DEFAULT_INSTANCE_TYPE_SPEC["resources"]
        raise CannotValidate(
            f"{deployment.path.name}: instance_type {wanted!r} is defined by the Kubernetes "
            "compute the endpoint runs on: pass --endpoint endpoint.yml (with its compute: "
            "azureml:<name>, attached in this emulator's workspace), or give the deployment's "
            "resources: {requests: ..., limits: ...}."
        )
    for name, spec in instance_types.items():
        if name.casefold() == wanted.casefold():
            return name, (spec or {}).get("resources") or {}
    raise CannotValidate(
        f"{deployment.path.name}: instance_type {wanted!r} is not an instance type of the "
        f"endpoint's compute (it has {', '.join(sorted(instance_types))}): pick one of them."
    )


def _names(
    deployment: OnlineDeploymentFile,
    *,
    cpu: str,
    memory: str,
    memory_fix: str,
    more_cpu: str,
    timeout_cap: str,
) -> LimitNames:
    probe = deployment.liveness_probe
    return LimitNames(
        cpu=cpu,
        memory=memory,
        timeout="request_settings.request_timeout_ms={timeout}",
        startup="the liveness probe restarts the replica after {startup:g} s "
        f"(initial_delay {probe.initial_delay} + period {probe.period} x failure_threshold "
        f"{probe.failure_threshold})",
        memory_fix=memory_fix,
        timeout_fix=f"Raise request_settings.request_timeout_ms{timeout_cap}, {more_cpu}, or "
        "make run() faster.",
        startup_fix=f"Raise liveness_probe.initial_delay (or failure_threshold), {more_cpu}, "
        "or make init() faster.",
    )


def _limits(
    deployment: OnlineDeploymentFile,
    target: str,
    cpu: float | None,
    memory_gb: float | None,
    instance_type: str,
    names: LimitNames,
) -> Limits:
    return Limits(
        target=target,
        cpu_cores=cpu,
        memory_gb=memory_gb,
        scoring_timeout_ms=deployment.request_settings.request_timeout_ms,
        startup_seconds=deployment.liveness_probe.deadline_seconds,
        instance_type=instance_type,
        names=names,
    )
