"""``azureml.core.compute``: ``ComputeTarget`` and ``AksCompute`` over the emulated clusters.

``ComputeTarget.create`` returns at once with the cluster ``Creating``; the cluster settles
(``Succeeded``, or ``Failed`` with Azure's error, e.g. the core quota) a moment later, for
this process and every other one (:mod:`emulator.compute.registry`). ``wait_for_completion``
polls as the SDK does and prints what it prints.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from emulator.compute.records import ClusterPurpose as _Purpose
from emulator.compute.records import ClusterRecord, ProvisioningState
from emulator.compute.scheduling import Node
from emulator.sdk.compute_config import (
    AksAttachConfiguration,
    AksProvisioningConfiguration,
    ComputeTargetAttachConfiguration,
    ComputeTargetProvisioningConfiguration,
    resolve_provisioning,
)
from emulator.sdk.compute_update import AksUpdateConfiguration, SslConfiguration
from emulator.sdk.exceptions import ComputeTargetException, UserErrorException
from emulator.sdk.translation import v1_errors

if TYPE_CHECKING:
    from emulator.sdk.workspace import Workspace

__all__ = [
    "AksAttachConfiguration",
    "AksCompute",
    "AksProvisioningConfiguration",
    "AksUpdateConfiguration",
    "ComputeTarget",
    "ComputeTargetAttachConfiguration",
    "ComputeTargetException",
    "ComputeTargetProvisioningConfiguration",
    "SslConfiguration",
]

RESERVED_NAMES = ("amlcompute", "local", "containerinstance")
_POLL_SECONDS = 0.1
_TERMINAL = ("Succeeded", "Failed", "Canceled")


def _not_found(workspace: Workspace, name: str) -> ComputeTargetException:
    known = ", ".join(r.name or "" for r in workspace.emulator_state.compute.records()) or "none"
    return ComputeTargetException(
        f"ComputeTargetNotFound: Compute Target with name {name} not found in provided "
        f"workspace [emulator] Compute targets in this workspace: {known}."
    )


class ComputeTarget:
    """A compute target of a workspace; ``ComputeTarget(ws, name)`` looks one up."""

    _compute_type: str | None = None

    def __new__(cls, workspace: Workspace | None = None, name: str | None = None) -> Any:
        if workspace is None or name is None:
            return super().__new__(cls)
        record = workspace.emulator_state.compute.get(name)
        if record is None:
            raise _not_found(workspace, name)
        for child in _subclasses():
            if child._compute_type == record.compute_type and issubclass(child, cls):
                return super().__new__(child)
        raise _not_found(workspace, name)

    def __init__(self, workspace: Workspace | None = None, name: str | None = None) -> None:
        if workspace is None or name is None:
            return
        record = workspace.emulator_state.compute.get(name)
        if record is None:
            raise _not_found(workspace, name)
        self._bind(workspace, record)

    def _bind(self, workspace: Workspace, record: ClusterRecord) -> None:
        self.workspace = workspace
        self._record = record
        self.name = str(record.name)
        self.type = record.compute_type
        self.compute_type = record.compute_type
        self.id = (
            f"/subscriptions/{workspace.subscription_id}/resourceGroups/"
            f"{workspace.resource_group}/providers/Microsoft.MachineLearningServices/workspaces/"
            f"{workspace.name}/computes/{self.name}"
        )
        self.location = record.location
        self.tags = dict(record.tags)
        self.description = record.description
        self.created_on = record.created_time
        self.modified_on = record.updated_time
        self.provisioning_state = record.state.value
        self.provisioning_errors = [dict(e) for e in record.errors] or None
        self.cluster_resource_id = record.cluster_resource_id
        self.cluster_location = record.location
        self.is_attached = record.is_attached

    @property
    def emulator_record(self) -> ClusterRecord:
        """The compute registry row this object was read from (an emulator addition, not part of the
        SDK): what the CLI, portal and pytest plugin show beyond the SDK's attributes."""
        return self._record

    @classmethod
    def _from_record(cls, workspace: Workspace, record: ClusterRecord) -> ComputeTarget:
        child = next(c for c in _subclasses() if c._compute_type == record.compute_type)
        target: ComputeTarget = object.__new__(child)
        target._bind(workspace, record)
        return target

    # -- factories -------------------------------------------------------------------------------

    @staticmethod
    def create(
        workspace: Workspace,
        name: str,
        provisioning_configuration: ComputeTargetProvisioningConfiguration,
    ) -> ComputeTarget:
        """Start provisioning ``name``; returns at once (``wait_for_completion`` polls)."""
        if name in RESERVED_NAMES:
            raise UserErrorException(
                f"Please specify a different target name. {name} is a reserved name."
            )
        if not isinstance(provisioning_configuration, AksProvisioningConfiguration):
            raise ComputeTargetException(
                "Invalid provisioning configuration: the emulator provisions AKS clusters only "
                "(AksCompute.provisioning_configuration(...)). [emulator] Got "
                f"{type(provisioning_configuration).__name__}."
            )
        return AksCompute._create(workspace, name, provisioning_configuration)

    @staticmethod
    def attach(
        workspace: Workspace, name: str, attach_configuration: ComputeTargetAttachConfiguration
    ) -> ComputeTarget:
        """Attach an existing cluster under ``name``; returns at once, ``Creating``."""
        if name in RESERVED_NAMES:
            raise UserErrorException(
                f"Please specify a different target name. {name} is a reserved name."
            )
        if not isinstance(attach_configuration, AksAttachConfiguration):
            raise ComputeTargetException(
                "Invalid attach configuration: the emulator attaches AKS clusters only "
                "(AksCompute.attach_configuration(...)). [emulator] Got "
                f"{type(attach_configuration).__name__}."
            )
        return AksCompute._attach(workspace, name, attach_configuration)

    @staticmethod
    def list(workspace: Workspace) -> list[ComputeTarget]:
        """Every compute target of the workspace."""
        return [
            ComputeTarget._from_record(workspace, r)
            for r in workspace.emulator_state.compute.records()
        ]

    @staticmethod
    def deserialize(workspace: Workspace, object_dict: dict[str, Any]) -> ComputeTarget:
        """The target a payload describes (the SDK's base is abstract; every emulated target
        is an AKS cluster, so this reads it as ``AksCompute.deserialize`` does)."""
        return AksCompute.deserialize(workspace, object_dict)

    # -- state -----------------------------------------------------------------------------------

    def refresh_state(self) -> None:
        """Re-read the target (provisioning state, errors, size) from the workspace."""
        record = self.workspace.emulator_state.compute.get(self.name)
        if record is None or record.id != self._record.id:
            raise _not_found(self.workspace, self.name)
        self._bind(self.workspace, record)

    def get_status(self) -> str:
        """The current provisioning state."""
        self.refresh_state()
        return self.provisioning_state

    def wait_for_completion(
        self, show_output: bool = False, is_delete_operation: bool = False
    ) -> None:
        """Poll until the running operation ends; a failure raises ``ComputeTargetException``."""
        state, error = self._wait(show_output)
        print(f'Provisioning operation finished, operation "{state}"')
        if not is_delete_operation:
            self.refresh_state()
        if state != "Succeeded":
            raise ComputeTargetException(
                "Compute object provisioning polling reached non-successful terminal state, "
                f"current provisioning state: {self.provisioning_state}\n"
                f"Provisioning operation error:\n{error}"
            )

    def _operation(self) -> tuple[str, dict[str, object] | None]:
        """(operation state, error) of the current operation, as the SDK polls it."""
        deleting = self.provisioning_state == ProvisioningState.DELETING.value
        record = self.workspace.emulator_state.compute.get(self.name)
        if record is None or record.id != self._record.id:
            if deleting:
                return "Succeeded", None
            raise _not_found(self.workspace, self.name)
        if record.state is ProvisioningState.FAILED:
            error = record.errors[0].get("error") if record.errors else None
            return "Failed", error if isinstance(error, dict) else None
        return record.state.value, None

    def _wait(self, show_output: bool) -> tuple[str, dict[str, object] | None]:
        state, error = self._operation()
        current = state
        if show_output:
            sys.stdout.write(current)
            sys.stdout.flush()
        while state not in _TERMINAL:
            time.sleep(_POLL_SECONDS)
            state, error = self._operation()
            if show_output:
                sys.stdout.write(".")
                if state != current:
                    sys.stdout.write(f"\n{state}")
                    current = state
                sys.stdout.flush()
        return state, error

    def delete(self) -> None:
        """Delete the target and its cluster; ``provisioning_state`` becomes ``Deleting``."""
        try:
            record = self.workspace.emulator_state.compute.delete(self.name)
        except LookupError:
            raise _not_found(self.workspace, self.name) from None
        self._record = record
        self.provisioning_state = ProvisioningState.DELETING.value
        self.provisioning_errors = None

    def detach(self) -> None:
        """Remove the target from the workspace; the cluster itself stays (and can be attached)."""
        try:
            self.workspace.emulator_state.compute.detach(self.name)
        except LookupError:
            raise _not_found(self.workspace, self.name) from None

    def serialize(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "location": self.location,
            "tags": self.tags,
            "properties": {
                "description": self.description,
                "computeType": self.type,
                "computeLocation": self.cluster_location,
                "resourceId": self.cluster_resource_id,
                "provisioningErrors": self.provisioning_errors,
                "provisioningState": self.provisioning_state,
                "isAttachedCompute": self.is_attached,
                "createdOn": self.created_on,
                "modifiedOn": self.modified_on,
            },
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(workspace={self.workspace!r}, name={self.name}, "
            f"id={self.id}, type={self.type}, provisioning_state={self.provisioning_state}, "
            f"location={self.location}, tags={self.tags})"
        )


class AksCompute(ComputeTarget):
    """An Azure Kubernetes Service cluster that hosts AKS web services."""

    _compute_type = "AKS"

    class ClusterPurpose:
        """``FAST_PROD`` (production: 3 nodes by default, at least 12 vCPUs) or ``DEV_TEST``
        (one node by default)."""

        FAST_PROD = _Purpose.FAST_PROD.value
        DEV_TEST = _Purpose.DEV_TEST.value

    def _bind(self, workspace: Workspace, record: ClusterRecord) -> None:
        super()._bind(workspace, record)
        self.agent_vm_size = record.vm_size
        self.agent_count = record.agent_count
        self.cluster_purpose = record.cluster_purpose
        self.cluster_fqdn = record.cluster_fqdn
        self.system_services: list[dict[str, str]] | None = None
        self.ssl_configuration = dict(record.ssl) or None
        self.load_balancer_type = record.load_balancer_type
        self.load_balancer_subnet = record.load_balancer_subnet

    @property
    def nodes(self) -> tuple[Node, ...]:
        """[emulator] The agent nodes (names, capacity, allocatable resources)."""
        return self._record.nodes

    #: ``AksCompute.provisioning_configuration``: the SDK's factory takes exactly the
    #: configuration's parameters (defaults: 3 x Standard_D3_v2, FastProd).
    provisioning_configuration = staticmethod(AksProvisioningConfiguration)

    @staticmethod
    def attach(workspace: Workspace, name: str, resource_id: str) -> AksCompute:  # type: ignore[override]
        """Deprecated in the SDK, which raises this: attach with ``attach_configuration``."""
        raise ComputeTargetException(
            "This method is DEPRECATED. Please use the following code to attach a AKS compute "
            "resource.\n# Attach AKS\nattach_config = AksCompute.attach_configuration("
            'resource_group="name_of_resource_group",\n'
            '                                                cluster_name="name_of_aks_cluster")'
            "\ncompute = ComputeTarget.attach(workspace, name, attach_config)"
        )

    @staticmethod
    def attach_configuration(
        resource_group: str | None = None,
        cluster_name: str | None = None,
        resource_id: str | None = None,
        cluster_purpose: str | None = None,
        load_balancer_type: str | None = None,
        load_balancer_subnet: str | None = None,
    ) -> AksAttachConfiguration:
        """A configuration for ``ComputeTarget.attach``."""
        return AksAttachConfiguration(
            resource_group,
            cluster_name,
            resource_id,
            cluster_purpose,
            load_balancer_type,
            load_balancer_subnet,
        )

    @staticmethod
    @v1_errors()
    def _create(
        workspace: Workspace, name: str, config: AksProvisioningConfiguration
    ) -> AksCompute:
        config.validate_configuration()
        _check_pem_files(config)
        resolved = resolve_provisioning(config)
        record = workspace.emulator_state.compute.create_aks(
            name,
            vm_size=resolved.vm_size,
            agent_count=resolved.agent_count,
            cluster_purpose=resolved.cluster_purpose,
            location=resolved.location,
            load_balancer_type=resolved.load_balancer_type,
            load_balancer_subnet=resolved.load_balancer_subnet,
            ssl=resolved.ssl,
        )
        target = object.__new__(AksCompute)
        target._bind(workspace, record)
        return target

    @staticmethod
    @v1_errors()
    def _attach(workspace: Workspace, name: str, config: AksAttachConfiguration) -> AksCompute:
        config.validate_configuration()
        _check_pem_files(config)
        resource_group, cluster_name = config.target()
        record = workspace.emulator_state.compute.attach_aks(
            name,
            resource_group=resource_group,
            cluster_name=cluster_name,
            cluster_purpose=config.cluster_purpose,
            load_balancer_type=config.load_balancer_type,
            load_balancer_subnet=config.load_balancer_subnet,
            ssl=config.ssl(),
        )
        target = object.__new__(AksCompute)
        target._bind(workspace, record)
        return target

    @v1_errors()
    def update(self, update_configuration: AksUpdateConfiguration) -> None:
        """Change the cluster's SSL configuration or load balancer (at once: nothing to
        re-provision offline); ``wait_for_completion`` returns straight away."""
        update_configuration.validate_configuration()
        ssl = update_configuration.ssl_payload(dict(self._record.ssl))
        record = self.workspace.emulator_state.compute.update_aks(
            self.name,
            ssl=ssl,
            load_balancer_type=update_configuration.load_balancer_type,
            load_balancer_subnet=update_configuration.load_balancer_subnet,
        )
        self._bind(self.workspace, record)

    def get_credentials(self) -> dict[str, Any]:
        """Azure answers the cluster's kubeconfig; an emulated cluster has no Kubernetes API."""
        raise ComputeTargetException(
            f"[emulator] AksCompute.get_credentials: cluster {self.name} is emulated and has no "
            "Kubernetes API server, so there is no kubeconfig to return offline."
        )

    @staticmethod
    def deserialize(workspace: Workspace, object_dict: dict[str, Any]) -> AksCompute:
        """The cluster a payload (``serialize()``, or Azure's JSON) describes, read from
        ``workspace``; checked as the SDK checks it first."""
        properties = object_dict.get("properties")
        if not isinstance(properties, dict) or "computeType" not in properties:
            raise ComputeTargetException(f"Invalid cluster payload:\n{object_dict}")
        if properties["computeType"] != AksCompute._compute_type:
            raise ComputeTargetException(f'Invalid cluster payload, not "AKS":\n{object_dict}')
        for arm_key in ("location", "id", "tags"):
            if arm_key not in object_dict:
                raise ComputeTargetException(
                    f'Invalid cluster payload, missing ["{arm_key}"]:\n{object_dict}'
                )
        for key in ("description", "provisioningErrors", "provisioningState", "resourceId"):
            if key not in properties:
                raise ComputeTargetException(
                    f'Invalid cluster payload, missing ["properties"]["{key}"]:\n{object_dict}'
                )
        name = str(object_dict.get("name") or str(object_dict["id"]).rsplit("/", 1)[-1])
        target = ComputeTarget(workspace, name)
        if not isinstance(target, AksCompute):
            raise ComputeTargetException(f'Invalid cluster payload, not "AKS":\n{object_dict}')
        return target

    def serialize(self) -> dict[str, Any]:
        payload = super().serialize()
        payload["properties"]["properties"] = {
            "agentCount": self.agent_count,
            "agentVmSize": self.agent_vm_size,
            "clusterPurpose": self.cluster_purpose,
            "clusterFqdn": self.cluster_fqdn,
            "systemServices": self.system_services,
            "sslConfiguration": self.ssl_configuration,
            "loadBalancerType": self.load_balancer_type,
            "loadBalancerSubnet": self.load_balancer_subnet,
        }
        return payload


def _check_pem_files(config: AksProvisioningConfiguration | AksAttachConfiguration) -> None:
    """The SDK reads the SSL cert and key files when the cluster is created or attached."""
    for label, path in (("cert", config.ssl_cert_pem_file), ("key", config.ssl_key_pem_file)):
        if path:
            try:
                with open(path, encoding="utf-8") as fh:
                    fh.read()
            except OSError as exc:
                raise ComputeTargetException(
                    f"Error, unable to read SSL {label} pem file provided paths:\n{path}\n"
                    f"[emulator] {exc}"
                ) from None


def _subclasses() -> list[type[ComputeTarget]]:
    return [AksCompute]
