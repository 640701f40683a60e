"""Configurations for creating and attaching AKS compute targets (``azureml.core.compute.aks``).

The SDK keeps what the caller passed (``None`` included) and checks it in
``validate_configuration()``, which ``ComputeTarget.create``/``attach`` call; the service fills
in the defaults (:func:`resolve_provisioning`).
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.compute.records import ClusterPurpose
from emulator.sdk.exceptions import ComputeTargetException

__all__ = [
    "AksAttachConfiguration",
    "AksProvisioningConfiguration",
    "ComputeTargetAttachConfiguration",
    "ComputeTargetProvisioningConfiguration",
]

DEFAULT_VM_SIZE = "Standard_D3_v2"
DEFAULT_AGENT_COUNT = {ClusterPurpose.FAST_PROD.value: 3, ClusterPurpose.DEV_TEST.value: 1}
LOAD_BALANCER_TYPES = ("PublicIp", "InternalLoadBalancer")
DEFAULT_INTERNAL_SUBNET = "aks-subnet"


class ComputeTargetProvisioningConfiguration:
    """Base of provisioning configurations; ``location`` defaults to the workspace's."""

    def __init__(self, type: object = None, location: str | None = None) -> None:
        self._compute_type = type
        self.location = location

    def validate_configuration(self) -> None:
        raise NotImplementedError


class ComputeTargetAttachConfiguration:
    """Base of attach configurations."""

    def __init__(self, type: object = None) -> None:
        self._compute_type = type

    def validate_configuration(self) -> None:
        raise NotImplementedError


class AksProvisioningConfiguration(ComputeTargetProvisioningConfiguration):
    """What ``AksCompute.provisioning_configuration`` returns."""

    def __init__(
        self,
        agent_count: int | None = None,
        vm_size: str | None = None,
        ssl_cname: str | None = None,
        ssl_cert_pem_file: str | None = None,
        ssl_key_pem_file: str | None = None,
        location: str | None = None,
        vnet_resourcegroup_name: str | None = None,
        vnet_name: str | None = None,
        subnet_name: str | None = None,
        service_cidr: str | None = None,
        dns_service_ip: str | None = None,
        docker_bridge_cidr: str | None = None,
        cluster_purpose: str | None = None,
        load_balancer_type: str | None = None,
        load_balancer_subnet: str | None = None,
    ) -> None:
        super().__init__("AKS", location)
        self.agent_count = agent_count
        self.vm_size = vm_size
        self.ssl_cname = ssl_cname
        self.ssl_cert_pem_file = ssl_cert_pem_file
        self.ssl_key_pem_file = ssl_key_pem_file
        self.leaf_domain_label: str | None = None
        self.overwrite_existing_domain = False
        self.vnet_resourcegroup_name = vnet_resourcegroup_name
        self.vnet_name = vnet_name
        self.subnet_name = subnet_name
        self.service_cidr = service_cidr
        self.dns_service_ip = dns_service_ip
        self.docker_bridge_cidr = docker_bridge_cidr
        self.cluster_purpose = cluster_purpose
        self.load_balancer_type = load_balancer_type
        self.load_balancer_subnet = load_balancer_subnet

    def enable_ssl(
        self,
        ssl_cname: str | None = None,
        ssl_cert_pem_file: str | None = None,
        ssl_key_pem_file: str | None = None,
        leaf_domain_label: str | None = None,
        overwrite_existing_domain: bool = False,
    ) -> None:
        """Use your own certificate (cname, cert, key) or a Microsoft one (leaf domain label)."""
        self.ssl_cname = ssl_cname
        self.ssl_cert_pem_file = ssl_cert_pem_file
        self.ssl_key_pem_file = ssl_key_pem_file
        self.leaf_domain_label = leaf_domain_label
        self.overwrite_existing_domain = overwrite_existing_domain

    def validate_configuration(self) -> None:
        """The SDK's checks, in its order; raises ``ComputeTargetException``."""
        count = self.agent_count
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise ComputeTargetException(
                "Invalid configuration, agent count must be a positive integer."
            )
        if count is not None and count <= 0:
            raise ComputeTargetException(
                "Invalid configuration, agent count must be a positive integer."
            )
        own_ssl = (self.ssl_cname, self.ssl_cert_pem_file, self.ssl_key_pem_file)
        if any(own_ssl):
            if not all(own_ssl):
                raise ComputeTargetException(
                    "Invalid configuration, not all ssl information provided. To enable SSL "
                    "validation please provide the cname, cert pem file, and key pem file."
                )
            if self.leaf_domain_label:
                raise ComputeTargetException(
                    "Invalid configuration. When cname, cert pem file, and key pem file is "
                    "provided, leaf domain label should not be provided."
                )
            if self.overwrite_existing_domain:
                raise ComputeTargetException(
                    "Invalid configuration. Overwrite existing domain only applies to leaf "
                    "domain label. When cname, cert pem file, and key pem file is provided, "
                    "Overwrite existing domain should not be provided."
                )
        elif self.overwrite_existing_domain and not self.leaf_domain_label:
            raise ComputeTargetException(
                "Invalid configuration. Overwrite existing domain only applies to leaf domain "
                "label. Please provide a leaf domain label."
            )
        vnet = (
            self.vnet_name,
            self.vnet_resourcegroup_name,
            self.subnet_name,
            self.service_cidr,
            self.dns_service_ip,
            self.docker_bridge_cidr,
        )
        if any(vnet) and not all(vnet):
            raise ComputeTargetException(
                "Invalid configuration, not all virtual net information provided. To use a custom "
                "virtual net with aks, please provide vnet name, vnet resource group, subnet "
                "name, service cidr, dns service ip and docker bridge cidr"
            )
        if self.load_balancer_type is not None and (
            self.load_balancer_type not in LOAD_BALANCER_TYPES
        ):
            raise ComputeTargetException(
                "Invalid configuration, load_balancer_type must be one of "
                f"{', '.join(LOAD_BALANCER_TYPES)}. Got {self.load_balancer_type!r}."
            )
        purposes = [p.value for p in ClusterPurpose]
        if self.cluster_purpose is not None and self.cluster_purpose not in purposes:
            raise ComputeTargetException(
                "Invalid configuration, cluster_purpose must be one of "
                f"{', '.join(purposes)} (AksCompute.ClusterPurpose). Got {self.cluster_purpose!r}."
            )


@dataclass(frozen=True)
class ResolvedProvisioning:
    """A provisioning configuration with the service's defaults filled in."""

    agent_count: int
    vm_size: str
    cluster_purpose: str
    location: str | None
    load_balancer_type: str
    load_balancer_subnet: str | None
    ssl: dict[str, str]


def resolve_provisioning(config: AksProvisioningConfiguration) -> ResolvedProvisioning:
    """Defaults: FastProd, 3 agents (1 for DevTest), ``Standard_D3_v2``, a public IP."""
    purpose = config.cluster_purpose or ClusterPurpose.FAST_PROD.value
    load_balancer = config.load_balancer_type or "PublicIp"
    subnet = config.load_balancer_subnet
    if load_balancer == "InternalLoadBalancer" and not subnet:
        subnet = DEFAULT_INTERNAL_SUBNET
    ssl: dict[str, str] = {}
    if config.ssl_cname:
        ssl = {"status": "Enabled", "cname": config.ssl_cname}
    elif config.leaf_domain_label:
        ssl = {"status": "Auto", "leafDomainLabel": config.leaf_domain_label}
    return ResolvedProvisioning(
        agent_count=config.agent_count or DEFAULT_AGENT_COUNT[purpose],
        vm_size=config.vm_size or DEFAULT_VM_SIZE,
        cluster_purpose=purpose,
        location=config.location,
        load_balancer_type=load_balancer,
        load_balancer_subnet=subnet,
        ssl=ssl,
    )


class AksAttachConfiguration(ComputeTargetAttachConfiguration):
    """What ``AksCompute.attach_configuration`` returns."""

    def __init__(
        self,
        resource_group: str | None = None,
        cluster_name: str | None = None,
        resource_id: str | None = None,
        cluster_purpose: str | None = None,
        load_balancer_type: str | None = None,
        load_balancer_subnet: str | None = None,
    ) -> None:
        super().__init__("AKS")
        self.resource_group = resource_group
        self.cluster_name = cluster_name
        self.resource_id = resource_id
        self.cluster_purpose = cluster_purpose
        self.ssl_cname: str | None = None
        self.ssl_cert_pem_file: str | None = None
        self.ssl_key_pem_file: str | None = None
        self.leaf_domain_label: str | None = None
        self.overwrite_existing_domain = False
        self.load_balancer_type = load_balancer_type
        self.load_balancer_subnet = load_balancer_subnet

    def enable_ssl(
        self,
        ssl_cname: str | None = None,
        ssl_cert_pem_file: str | None = None,
        ssl_key_pem_file: str | None = None,
        leaf_domain_label: str | None = None,
        overwrite_existing_domain: bool = False,
    ) -> AksAttachConfiguration:
        """Serve the cluster's services over SSL with your certificate (cname, cert and key
        files) or a Microsoft one (leaf domain label); checked at once, as the SDK does."""
        if ssl_cname:
            self.ssl_cname = ssl_cname
        if ssl_cert_pem_file:
            self.ssl_cert_pem_file = ssl_cert_pem_file
        if ssl_key_pem_file:
            self.ssl_key_pem_file = ssl_key_pem_file
        if leaf_domain_label:
            self.leaf_domain_label = leaf_domain_label
        if overwrite_existing_domain:
            self.overwrite_existing_domain = overwrite_existing_domain
        self.validate_configuration()
        return self

    def ssl(self) -> dict[str, str] | None:
        """The cluster's ``sslConfiguration`` after the attach (``None``: the cluster's own)."""
        if self.ssl_cname:
            return {"status": "Enabled", "cname": self.ssl_cname}
        if self.leaf_domain_label:
            return {"status": "Auto", "leafDomainLabel": self.leaf_domain_label}
        return None

    def validate_configuration(self) -> None:
        """resource_id, or resource_group with cluster_name; raises ``ComputeTargetException``."""
        if self.resource_id:
            parts = self.resource_id.split("/")
            if len(parts) != 9:
                raise ComputeTargetException(f"Invalid resource_id provided: {self.resource_id}")
            if parts[6] != "Microsoft.ContainerService":
                raise ComputeTargetException(
                    f"Invalid resource_id provided, resource type {parts[6]} does not match for AKS"
                )
            if self.resource_group:
                raise ComputeTargetException(
                    "Since resource_id is provided, please do not provide resource_group."
                )
            if self.cluster_name:
                raise ComputeTargetException(
                    "Since resource_id is provided, please do not provide cluster_name."
                )
        elif self.resource_group or self.cluster_name:
            if not self.resource_group:
                raise ComputeTargetException("resource_group is not provided.")
            if not self.cluster_name:
                raise ComputeTargetException("cluster_name is not provided.")
        else:
            raise ComputeTargetException(
                "Please provide resource_group and cluster_name for the AKS compute resource "
                "being attached. Or please provide resource_id for the resource being attached."
            )
        own_ssl = (self.ssl_cname, self.ssl_cert_pem_file, self.ssl_key_pem_file)
        if any(own_ssl):
            if not all(own_ssl):
                raise ComputeTargetException(
                    "Invalid configuration, not all ssl information provided. To enable SSL "
                    "validation please provide the cname, cert pem file, and key pem file."
                )
            if self.leaf_domain_label:
                raise ComputeTargetException(
                    "Invalid configuration. When cname, cert pem file, and key pem file is "
                    "provided, leaf domain label should not be provided."
                )
            if self.overwrite_existing_domain:
                raise ComputeTargetException(
                    "Invalid configuration. Overwrite existing domain only applies to leaf "
                    "domain label. When cname, cert pem file, and key pem file is provided, "
                    "Overwrite existing domain should not be provided."
                )
        if self.load_balancer_type is not None and (
            self.load_balancer_type not in LOAD_BALANCER_TYPES
        ):
            raise ComputeTargetException(
                "Invalid configuration, load_balancer_type must be one of "
                f"{', '.join(LOAD_BALANCER_TYPES)}. Got {self.load_balancer_type!r}."
            )

    def target(self) -> tuple[str, str]:
        """(resource group, cluster name) of the cluster to attach."""
        if self.resource_id:
            parts = self.resource_id.split("/")
            return parts[4], parts[8]
        return str(self.resource_group), str(self.cluster_name)
