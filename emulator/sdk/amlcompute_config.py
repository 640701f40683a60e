"""``AmlComputeProvisioningConfiguration``: the value of
``Workspace.DEFAULT_CPU_CLUSTER_CONFIGURATION`` and ``DEFAULT_GPU_CLUSTER_CONFIGURATION``.

Deployment notebooks read these constants (to print them, or to pass them to a provisioning call
they then skip); the emulator provisions no AmlCompute training clusters, so there is no
``AmlCompute`` class to pass them to. The object holds what the SDK's does, with its checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.sdk.compute_config import ComputeTargetProvisioningConfiguration
from emulator.sdk.exceptions import ComputeTargetException

__all__ = ["AmlComputeProvisioningConfiguration", "ScaleSettings"]


@dataclass(frozen=True)
class ScaleSettings:
    """How many nodes a cluster keeps, and how long an idle node lives."""

    minimum_node_count: int
    maximum_node_count: int | None
    idle_seconds_before_scaledown: int


class AmlComputeProvisioningConfiguration(ComputeTargetProvisioningConfiguration):
    """What ``AmlCompute.provisioning_configuration(...)`` returns in the SDK."""

    def __init__(
        self,
        vm_size: str = "",
        vm_priority: str = "dedicated",
        min_nodes: int = 0,
        max_nodes: int | None = None,
        idle_seconds_before_scaledown: int = 1800,
        admin_username: str | None = None,
        admin_user_password: str | None = None,
        admin_user_ssh_key: str | None = None,
        vnet_resourcegroup_name: str | None = None,
        vnet_name: str | None = None,
        subnet_name: str | None = None,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        remote_login_port_public_access: str = "NotSpecified",
        identity_type: str | None = None,
        identity_id: list[str] | None = None,
        compute_location: str | None = None,
        enable_node_public_ip: bool = True,
    ) -> None:
        super().__init__("AmlCompute", None)
        self.vm_size = vm_size
        self.vm_priority = vm_priority
        self.scale_settings = ScaleSettings(
            min_nodes or 0, max_nodes, idle_seconds_before_scaledown
        )
        self.admin_username = admin_username
        self.admin_user_password = admin_user_password
        self.admin_user_ssh_key = admin_user_ssh_key
        self.vnet_resourcegroup_name = vnet_resourcegroup_name
        self.vnet_name = vnet_name
        self.subnet_name = subnet_name
        self.tags = tags
        self.description = description
        self.remote_login_port_public_access = remote_login_port_public_access
        self.identity_type = identity_type
        self.identity_id = identity_id
        self.compute_location = compute_location
        self.enable_node_public_ip = enable_node_public_ip
        self.validate_configuration()

    def validate_configuration(self) -> None:
        """The SDK's checks (credentials, virtual network, node counts, identity), its words."""
        if (self.admin_user_password or self.admin_user_ssh_key) and not self.admin_username:
            raise ComputeTargetException(
                "Invalid user credentials, admin username must be provided along with either a "
                "password or SSH key information."
            )
        if self.admin_username and not (self.admin_user_password or self.admin_user_ssh_key):
            raise ComputeTargetException(
                "Invalid user credentials, no password or key information provided. Please "
                "provide either a password or SSH key information."
            )
        vnet = [self.vnet_name, self.vnet_resourcegroup_name, self.subnet_name]
        if any(vnet) and not all(vnet):
            raise ComputeTargetException(
                "Invalid configuration, not all virtual net information provided. To use a "
                "custom virtual net, please provide vnet name, vnet resource group and subnet name"
            )
        scale = self.scale_settings
        if scale.maximum_node_count is None:
            raise ComputeTargetException(
                "Invalid provisioning configuration, max nodes count is mandatory"
            )
        if scale.maximum_node_count < 0:
            raise ComputeTargetException(
                "Invalid provisioning configuration, max nodes count must be greater than or "
                "equal to 0"
            )
        if scale.maximum_node_count < scale.minimum_node_count:
            raise ComputeTargetException(
                "Invalid provisioning configuration, max nodes count must be greater than or "
                "equal to min nodes count"
            )
        if self.identity_id and not self.identity_type:
            raise ComputeTargetException(
                "Invalid configuration, identity_id cannot be set when identity type is not user "
                "assigned."
            )


#: The SDK's ``Workspace.DEFAULT_CPU_CLUSTER_CONFIGURATION`` / ``..._GPU_...`` values.
DEFAULT_CPU_CLUSTER_CONFIGURATION = AmlComputeProvisioningConfiguration(
    min_nodes=0, max_nodes=2, vm_size="STANDARD_DS2_V2", vm_priority="dedicated"
)
DEFAULT_GPU_CLUSTER_CONFIGURATION = AmlComputeProvisioningConfiguration(
    min_nodes=0, max_nodes=2, vm_size="STANDARD_NC6", vm_priority="dedicated"
)
